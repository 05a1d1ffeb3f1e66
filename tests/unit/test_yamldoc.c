/*
 * yamldoc: the YAML tree, its marks, its limits, and YAML 1.1 typing as Ansible sees it.
 */
#include "helpers.h"

#include <math.h>
#include <stdlib.h>

static int load(const char *yaml, struct ydoc *doc, struct diag *d)
{
  return ydoc_load_buffer("t.yaml", yaml, strlen(yaml), doc, d);
}

static struct yscalar resolve(const char *text, bool plain)
{
  char *copy = xstrdup(text);
  struct ynode n = {.kind = YNODE_SCALAR, .text = copy, .len = strlen(text), .plain = plain};
  struct yscalar s;
  cr_assert_eq(yscalar_resolve(&n, &s), 0, "resolving '%s'", text);
  free(copy);
  return s;
}

Test(yamldoc, plain_scalars_are_typed_like_pyyaml_yaml_1_1)
{
  static const struct {
    const char *text;
    enum yscalar_type type;
    long long i;
  } cases[] = {
      {"yes", YSCALAR_BOOL, 1},       {"Off", YSCALAR_BOOL, 0},     {"TRUE", YSCALAR_BOOL, 1},
      {"010", YSCALAR_INT, 8},        {"0x1F", YSCALAR_INT, 31},    {"0b101", YSCALAR_INT, 5},
      {"1:30", YSCALAR_INT, 90},      {"1_000", YSCALAR_INT, 1000}, {"-42", YSCALAR_INT, -42},
      {"0", YSCALAR_INT, 0},          {"~", YSCALAR_NULL, 0},       {"", YSCALAR_NULL, 0},
      {"null", YSCALAR_NULL, 0},      {"1e3", YSCALAR_STR, 0},      {"10.3R2.11", YSCALAR_STR, 0},
      {"192.0.2.1", YSCALAR_STR, 0},  {"y", YSCALAR_STR, 0},        {"09", YSCALAR_STR, 0},
      {"2001-12-14", YSCALAR_STR, 0},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    struct yscalar s = resolve(cases[i].text, true);
    cr_expect_eq(s.type, cases[i].type, "'%s' typed %d, expected %d", cases[i].text, s.type,
                 cases[i].type);
    if (s.type == YSCALAR_INT)
      cr_expect_eq(s.i, cases[i].i, "'%s' = %lld", cases[i].text, (long long)s.i);
    if (s.type == YSCALAR_BOOL)
      cr_expect_eq(s.b, cases[i].i != 0, "'%s'", cases[i].text);
  }
}

Test(yamldoc, floats_need_a_dot_as_in_pyyaml)
{
  cr_expect_float_eq(resolve("1.5e+3", true).f, 1500.0, 1e-9);
  cr_expect_float_eq(resolve("3.", true).f, 3.0, 1e-9);
  cr_expect_float_eq(resolve(".5", true).f, 0.5, 1e-9);
  cr_expect(isinf(resolve("-.inf", true).f));
  cr_expect_eq(resolve("-.5", true).type, YSCALAR_STR);
  cr_expect_eq(resolve("1.5e3", true).type, YSCALAR_STR, "PyYAML wants a signed exponent");
}

Test(yamldoc, quoted_and_str_tagged_scalars_stay_strings)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_eq(load("a: \"22\"\nb: 'yes'\nc: !!str 123\nd: !unsafe '{{x}}'\n", &doc, &d), 0);
  for (size_t i = 0; i < doc.root->count; i++) {
    struct yscalar s;
    yscalar_resolve(doc.root->pairs[i].value, &s);
    cr_expect_eq(s.type, YSCALAR_STR, "key %s", doc.root->pairs[i].key->text);
  }
  ydoc_free(&doc);
}

Test(yamldoc, integers_beyond_64_bits_are_reported)
{
  char text[] = "99999999999999999999";
  struct ynode n = {.kind = YNODE_SCALAR, .text = text, .len = 20, .plain = true};
  struct yscalar s;
  cr_expect_lt(yscalar_resolve(&n, &s), 0);
}

Test(yamldoc, marks_are_one_based_lines_and_columns)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_eq(load("top:\n  key: value\n", &doc, &d), 0);
  const struct ynode *v = ynode_get(ynode_get(doc.root, "top"), "key");
  cr_assert_not_null(v);
  cr_expect_eq(v->line, 2);
  cr_expect_eq(v->col, 8);
  ydoc_free(&doc);
}

Test(yamldoc, syntax_errors_name_line_and_column)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load("a:\n  - x\n  y: 1\n", &doc, &d), 0);
  cr_expect(diag_contains(&d, "t.yaml:3:3:"), "got: %s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, aliases_are_copies_of_their_anchor)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_eq(load("a: &x {k: v}\nb: *x\n", &doc, &d), 0);
  const struct ynode *a = ynode_get(doc.root, "a"), *b = ynode_get(doc.root, "b");
  cr_assert(a != b);
  cr_expect_str_eq(ynode_get(b, "k")->text, "v");
  cr_expect_eq(b->line, 2, "an alias copy carries the alias's position");
  ydoc_free(&doc);
}

Test(yamldoc, merge_keys_let_own_keys_and_earlier_sources_win)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_eq(load("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\n"
                    "c:\n  <<: [*a, *b]\n  x: own\n",
                    &doc, &d),
               0);
  const struct ynode *c = ynode_get(doc.root, "c");
  cr_expect_str_eq(ynode_get(c, "x")->text, "own");
  cr_expect_str_eq(ynode_get(c, "y")->text, "1");
  cr_expect_str_eq(ynode_get(c, "z")->text, "2");
  cr_expect_null(ynode_get(c, "<<"));
  ydoc_free(&doc);
}

Test(yamldoc, an_anchored_merge_source_can_still_be_aliased)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_eq(load("a:\n  <<: &m {x: 1}\n  y: 2\nb: *m\n", &doc, &d), 0);
  cr_expect_str_eq(ynode_get(ynode_get(doc.root, "b"), "x")->text, "1");
  ydoc_free(&doc);
}

Test(yamldoc, merging_a_scalar_is_an_error)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load("a:\n  <<: 5\n", &doc, &d), 0);
  cr_expect(diag_contains(&d, "t.yaml:2:7: merge key '<<' takes a mapping"), "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, duplicate_keys_are_rejected_with_both_positions)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load("hosts:\n  mx1: {}\n  mx1: {}\n", &doc, &d), 0);
  cr_expect(diag_contains(&d, "t.yaml:3:3: duplicate key 'mx1' (first defined at 2:3"), "%s",
            d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, an_alias_bomb_fails_fast_instead_of_expanding)
{
  char yaml[2048] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; i++) {
    char line[160];
    snprintf(line, sizeof line,
             "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
             i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    strcat(yaml, line);
  }
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load(yaml, &doc, &d), 0);
  cr_expect(diag_contains(&d, "alias expansion is bounded"), "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, a_recursive_alias_is_refused)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load("a: &s [1, *s]\n", &doc, &d), 0);
  cr_expect(diag_contains(&d, "t.yaml:1:11: alias '*s' refers to a collection that contains it"),
            "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, an_undefined_alias_is_refused)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load("a: *nope\n", &doc, &d), 0);
  cr_expect(diag_contains(&d, "t.yaml:1:4: alias '*nope' has no anchor"), "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, nesting_is_bounded)
{
  char yaml[400];
  memset(yaml, '[', 100);
  yaml[100] = '\0';
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load(yaml, &doc, &d), 0);
  cr_expect(diag_contains(&d, "nesting deeper than 64 levels"), "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, a_second_document_is_refused)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load("a: 1\n---\nb: 2\n", &doc, &d), 0);
  cr_expect(diag_contains(&d, "t.yaml:2:1: more than one YAML document"), "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, vault_values_are_refused_with_advice)
{
  struct ydoc doc;
  struct diag d = {0};
  cr_assert_lt(load("pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n", &doc, &d), 0);
  cr_expect(diag_contains(&d, "issu_password_env"), "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}

Test(yamldoc, binary_input_is_refused_as_not_utf8)
{
  struct ydoc doc;
  struct diag d = {0};
  const char bad[] = "a: \xff\xfe\n";
  cr_assert_lt(ydoc_load_buffer("t.yaml", bad, sizeof bad - 1, &doc, &d), 0);
  cr_expect(diag_contains(&d, "UTF-8"), "%s", d.lines[0]);
  diag_free(&d);
  ydoc_free(&doc);
}
