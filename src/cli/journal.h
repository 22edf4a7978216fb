// The daemon's log lines as entries of journald's native protocol
// (systemd.journal-fields(7)), so that under systemd each line carries
// fields to search by: `journalctl TANDEM_SHARE=photos`,
// `journalctl TANDEM_PEER=<device id>`. The fields come from conventions the
// daemon's lines keep: a line about one share starts "share NAME: ", and a
// peer is "peer " and its device id, whose shape nothing else has. Pure
// functions over text; the daemon sends each entry as one datagram.
// (A line's path has no such mark yet: no TANDEM_PATH.)
#pragma once

#include <string>
#include <string_view>

namespace tandem::cli {

struct JournalFields {
  std::string share;  // empty: the line is about no one share
  std::string peer;   // the device id after the first "peer " in the line, or empty
};

JournalFields FieldsOf(std::string_view line);

// One entry: MESSAGE, PRIORITY (syslog's 0-7), SYSLOG_IDENTIFIER=tandem
// and the fields above; a value holding a newline goes in the protocol's
// length-prefixed form.
std::string JournalEntry(int priority, std::string_view line);

}  // namespace tandem::cli
