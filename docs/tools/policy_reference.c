/*
 * Prints the policy key reference (the schema table of policies/policy_schema.c) as Markdown.
 * docs/policy.md embeds its output between two markers; test_policy checks they still agree.
 *   build/policy_reference > /tmp/ref.md
 */
#include "policies/policies.h"

int main(void)
{
  policy_schema_markdown(stdout);
  return 0;
}
