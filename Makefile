# Tandem: the two commands of the README plus their parts.
# Every target installs what it needs first (scripts/install-deps is idempotent).

JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build build-asan demo test test-release test-asan bench clean

all: build

deps:
	@scripts/install-deps

# clang, not GCC 12: see docs/architecture.md (coroutines).
CMAKE_CONFIGURE = cmake -S . -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++

$(BUILD)/build.ninja: | deps
	$(CMAKE_CONFIGURE) -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/build.ninja: | deps
	$(CMAKE_CONFIGURE) -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTANDEM_SANITIZE=ON

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@scripts/demo $(BUILD)/tandem

# The whole suite, once optimised and once under ASan/UBSan.
test: test-release test-asan

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The heaviest transfers and the benchmark smoke runs only repeat, many times
# slower, code paths the smaller sanitized tests already cover.
ASAN_SKIP = ALargeFileSyncsInBoundedMemory|FiveThousandSmallFiles|SmokeRun

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 -E '$(ASAN_SKIP)'

bench: build
	bench/index_bench --tandem $(BUILD)/tandem
	bench/sync_bench --tandem $(BUILD)/tandem
	$(BUILD)/bench/micro_bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
