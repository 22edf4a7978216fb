# Unit tests of the lower layers: one binary per layer, sources beside the
# code they test (src/<layer>/*_test.cc). Paths are relative to the project
# root because this file is included from the top-level CMakeLists.txt.

tandem_test(base_test
  SOURCES
    src/base/async_test.cc
    src/base/backoff_test.cc
    src/base/atomic_file_test.cc
    src/base/bytes_test.cc
    src/base/rate_meter_test.cc
    src/base/token_bucket_test.cc
    src/base/throttle_test.cc
    src/base/rel_path_test.cc
    src/base/uuid_test.cc
    src/base/version_vector_test.cc
  LIBS tandem_base)

tandem_test(crypto_test
  SOURCES
    src/crypto/keys_test.cc
    src/crypto/password_test.cc
    src/crypto/record_test.cc
    src/crypto/seal_test.cc
    src/crypto/token_test.cc
  LIBS tandem_crypto)

tandem_test(net_test
  SOURCES src/net/address_test.cc src/net/interfaces_test.cc src/net/quic_test.cc
  LIBS tandem_net)

tandem_test(scan_test
  SOURCES
    src/scan/block_hasher_test.cc
    src/scan/chunker_test.cc
    src/scan/conflict_test.cc
    src/scan/ignore_test.cc
    src/scan/known_paths_test.cc
    src/scan/scanner_test.cc
  LIBS tandem_scan)

tandem_test(store_test
  SOURCES src/store/repository_test.cc src/store/share_folder_test.cc
  LIBS tandem_store)

tandem_test(service_test
  SOURCES src/service/api_description_test.cc src/service/config_test.cc src/service/event_log_test.cc
  LIBS tandem_service)
target_compile_definitions(service_test PRIVATE TANDEM_API_DESCRIPTION="${PROJECT_SOURCE_DIR}/api/tandem-api.json")

tandem_test(protocol_test SOURCES src/protocol/framing_test.cc src/protocol/beacon_test.cc LIBS tandem_protocol)

tandem_test(fs_test
  SOURCES src/fs/changed_paths_test.cc src/fs/part_file_test.cc src/fs/filesystem_test.cc src/fs/watcher_test.cc
  LIBS tandem_fs)

# The share engine's stages, without daemons, sockets or sleeps.
tandem_test(sync_test
  SOURCES
    src/sync/version_policy_test.cc src/sync/versions_test.cc
    src/sync/conflicts_test.cc src/sync/index_batch_test.cc src/sync/need_queue_test.cc src/sync/peer_set_test.cc
    src/sync/pull_decision_test.cc src/sync/local_changes_test.cc
    src/sync/scan_report_test.cc src/sync/scan_scheduler_test.cc src/sync/share_health_test.cc src/sync/group_commit_test.cc
    src/sync/block_fetcher_test.cc src/sync/blind_fetcher_test.cc src/sync/index_sender_test.cc src/sync/pull_planner_test.cc
    src/sync/download_progress_test.cc src/sync/memory_link.cc src/sync/share_engine_test.cc
  LIBS tandem_sync tandem_testing)

# The CLI's pure parts (the journal entries of the daemon's log).
tandem_test(cli_test SOURCES src/cli/journal_test.cc LIBS tandem_cli_lib)
