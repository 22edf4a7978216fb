// The daemon's log lines as entries of journald's native protocol
// (systemd.journal-fields(7)), so that under systemd each line carries
// fields to search by: `journalctl TANDEM_SHARE=photos`,
// `journalctl TANDEM_PEER=<device id>`, `journalctl TANDEM_PATH=a/b.txt`.
// The fields come from conventions the daemon's lines keep: a line about one
// share starts "share NAME: ", one about a path in it goes on with the path
// in double quotes, "share NAME: \"PATH\": ...", and a peer is "peer " and
// its device id, whose shape nothing else has. Pure functions over text;
// the daemon sends each entry as one datagram.
#pragma once

#include <string>
#include <string_view>

namespace tandem::cli {

struct JournalFields {
  std::string share;  // empty: the line is about no one share
  std::string peer;   // the device id after the first "peer " in the line, or empty
  std::string path;   // the path in the share a line is about, or empty
};

JournalFields FieldsOf(std::string_view line);

// One entry: MESSAGE, PRIORITY (syslog's 0-7), SYSLOG_IDENTIFIER=tandem
// and the fields above; a value holding a newline goes in the protocol's
// length-prefixed form.
std::string JournalEntry(int priority, std::string_view line);

}  // namespace tandem::cli
