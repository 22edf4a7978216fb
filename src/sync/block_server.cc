#include "sync/block_server.h"

#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>
#include <optional>

#include "base/async.h"
#include "crypto/seal.h"
#include "sync/local_blocks.h"

namespace tandem::sync {

BlockServer::BlockServer(asio::io_context& loop, asio::thread_pool& pool, std::filesystem::path root,
                         const crypto::ShareSecrets& secrets, std::shared_ptr<store::RepositoryReader> reader,
                         const IgnorePatterns& ignores, Faults faults)
    : loop_(loop), pool_(pool), root_(std::move(root)), secrets_(secrets), reader_(std::move(reader)),
      ignores_(ignores), faults_(faults) {}

asio::awaitable<wire::BlockResponse> BlockServer::Answer(const wire::BlockRequest& request, bool peer_reads) const {
  wire::BlockResponse response;
  response.set_request_id(request.request_id());
  crypto::BlockId id;
  if (request.block_id().size() != id.size()) {
    response.set_not_available(true);
    co_return response;
  }
  std::memcpy(id.data(), request.block_id().data(), id.size());
  if (faults_.slow_blocks) {
    asio::steady_timer pause(loop_, std::chrono::milliseconds(250));
    co_await pause.async_wait(asio::use_awaitable);
  }
  struct Found {
    std::string bytes;
    bool sealed;
  };
  auto read_block = [this, id, peer_reads]() -> std::optional<Found> {
    if (!secrets_.CanRead()) {
      auto sealed = reader_->GetSealedBlock(id);
      if (!sealed) return std::nullopt;
      return Found{std::string(AsChars(*sealed)), true};
    }
    // Straight from the file into the string the response sends.
    auto forge = [&](std::span<uint8_t> data) {
      if (!faults_.forge_blocks) return;
      for (uint8_t& byte : data) byte ^= 0x5A;  // right id, right key, wrong bytes
    };
    for (const store::BlockLocation& where : reader_->FindBlock(id)) {
      if (ignores_.Ignores(where.path)) continue;
      std::filesystem::path path = root_ / where.path;
      if (peer_reads) {
        std::string plain(where.size, '\0');
        std::span<uint8_t> out{reinterpret_cast<uint8_t*>(plain.data()), plain.size()};
        if (!ReadVerifiedBlockInto(path, where.offset, id, secrets_.id_key(), &where.file, out)) continue;
        forge(out);
        return Found{std::move(plain), false};
      }
      auto data = ReadVerifiedBlock(path, where.offset, where.size, id, secrets_.id_key(), &where.file);
      if (!data) continue;
      forge(*data);
      std::string sealed(data->size() + crypto::kSealOverhead, '\0');
      crypto::SealBlockInto(secrets_.block_key(), id, *data, {reinterpret_cast<uint8_t*>(sealed.data()), sealed.size()});
      return Found{std::move(sealed), true};
    }
    return std::nullopt;
  };
  std::optional<Found> found = co_await RunOn(pool_.get_executor(), std::move(read_block));
  if (found && found->sealed) {
    response.set_sealed(std::move(found->bytes));
  } else if (found) {
    response.set_plain(std::move(found->bytes));
  } else {
    response.set_not_available(true);
  }
  co_return response;
}

}  // namespace tandem::sync
