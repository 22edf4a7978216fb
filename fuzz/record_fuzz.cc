// The record, entry and block-list decoders, and what a peer's record goes
// through before it is stored: decoded from the wire, verified, opened.
#include <cstddef>
#include <cstdint>

#include <google/protobuf/stubs/logging.h>

#include "crypto/record.h"
#include "tandem.pb.h"

namespace {

const tandem::crypto::ShareSecrets& Secrets() {
  static const auto secrets = tandem::crypto::ShareSecrets::FromWriteSeed(tandem::crypto::Key32{7});
  return secrets;
}

}  // namespace

// Protobuf logs every string field that is not UTF-8; a fuzzer makes
// millions of them.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::ByteView bytes(data, size);
  (void)tandem::crypto::DecodeEntry(bytes);
  (void)tandem::crypto::DecodeBlockList(bytes);
  if (auto record = tandem::crypto::DecodeRecord(bytes); record) {
    // What decodes encodes again to something that decodes to the same.
    auto again = tandem::crypto::DecodeRecord(tandem::crypto::EncodeRecord(*record));
    if (!again || !(*again == *record)) __builtin_trap();
  }
  tandem::wire::Record msg;
  if (msg.ParseFromArray(data, static_cast<int>(size))) {
    if (auto record = tandem::crypto::RecordFromWire(msg); record) {
      if (tandem::crypto::VerifyRecord(Secrets(), *record)) (void)tandem::crypto::OpenRecord(Secrets(), *record);
      (void)tandem::crypto::OpenRecord(Secrets(), *record);  // unsigned: must fail cleanly, not crash
    }
  }
  return 0;
}
