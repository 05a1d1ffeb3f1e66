# A stdout callback for tests/oracle/ansible_oracle.sh: prints, as one JSON list, the message of
# every successful task result, in the order ansible ran them. It ships with the test because
# Debian's ansible-core has no `json` callback (that one lives in the ansible.posix collection,
# which scripts/setup does not install).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
    name: oracle_batches
    type: stdout
    short_description: the msg of each ok result, as one JSON list (issu-fleet oracle test)
    description: Used only by issu-fleet's differential test against ansible-playbook.
"""

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "oracle_batches"

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.msgs = []
        self.failures = []

    def v2_runner_on_ok(self, result):
        if "msg" in result._result:
            self.msgs.append(result._result["msg"])

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self.failures.append("%s: %s" % (result._host.get_name(), result._result.get("msg", "")))

    def v2_runner_on_unreachable(self, result):
        self.failures.append("%s: unreachable" % result._host.get_name())

    def v2_playbook_on_stats(self, stats):
        if self.failures:
            self._display.display("\n".join(self.failures), stderr=True)
        self._display.display(json.dumps(self.msgs))
