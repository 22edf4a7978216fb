# Tandem: the two commands of the README plus their parts.
# Every target installs what it needs first (scripts/install-deps is idempotent).

JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# Seconds each fuzz target runs under `make fuzz`.
FUZZ_SECONDS ?= 60

.PHONY: all deps build build-asan build-fuzz demo test test-release test-asan test-python test-kotlin test-gui install package check-deb bench bench-gui bench-large fuzz clean

all: build

deps:
	@scripts/install-deps

# clang, not GCC 12: see docs/decisions.md (coroutines).
CMAKE_CONFIGURE = cmake -S . -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++

$(BUILD)/build.ninja: | deps
	$(CMAKE_CONFIGURE) -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/build.ninja: | deps
	$(CMAKE_CONFIGURE) -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTANDEM_SANITIZE=ON

$(FUZZ_BUILD)/build.ninja: | deps
	$(CMAKE_CONFIGURE) -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_FUZZ=ON

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@scripts/demo $(BUILD)/tandem

# The whole suite, once optimised and once under ASan/UBSan, then the
# bindings over the optimised libtandem, then the web UI in a browser.
test: test-release test-asan test-python test-kotlin test-gui

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The heaviest transfers and the benchmark smoke runs only repeat, many times
# slower, code paths the smaller sanitized tests already cover (the demo
# too: the integration tests run the same daemon paths). The crash
# test runs 8 kill rounds here instead of 24: each restart is slow under ASan,
# and the optimised run keeps the full count.
ASAN_SKIP = ALargeFileSyncsInBoundedMemory|FiveThousandSmallFiles|SmokeRun|Demo.LeavesNothingBehind

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  TANDEM_CRASH_KILLS=8 ctest --output-on-failure -j $(JOBS) --timeout 600 -E '$(ASAN_SKIP)'

# The Python binding, installed into a venv of Debian's python3 with its
# pinned test tools and the built libtandem bundled in, tested from outside
# its source folder with no TANDEM_LIBRARY: the installed package is what runs.
PYTHON_VENV = $(BUILD)/python-venv
test-python: build
	/usr/bin/python3 -m venv $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/pip install -q --disable-pip-version-check -r bindings/python/requirements-test.txt
	TANDEM_LIBRARY=$(abspath $(BUILD))/libtandem.so \
	  $(PYTHON_VENV)/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
	rm -rf bindings/python/build
	TANDEM_BIN=$(abspath $(BUILD))/tandem $(PYTHON_VENV)/bin/pytest -q -p no:cacheprovider bindings/python/tests

# The Kotlin/JVM binding over the optimised libtandem; Maven fetches the
# pinned Kotlin, JNA and JUnit from Maven Central.
test-kotlin: build
	cd bindings/kotlin && TANDEM_LIBRARY=$(abspath $(BUILD))/libtandem.so mvn -B -q test

# The web UI in Debian's chromium, headless, driven by playwright-core
# (pinned in web/package-lock.json; the build installed it), against two
# optimised daemons. Screenshots of a failure stay in $(BUILD)/ui-test-results.
test-gui: build
	cd web && TANDEM_BIN=$(abspath $(BUILD))/tandem TANDEM_UI_ARTIFACTS=$(abspath $(BUILD))/ui-test-results \
	  node --test --test-concurrency=1 tests/

# The binary, libtandem, the header, the man page and the completions under
# PREFIX (default /usr/local); `make package` leaves the .deb in $(BUILD) (docs/service.md).
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

package: build
	cd $(BUILD) && cpack -G DEB

# The .deb on a fresh Debian 12 root that debootstrap makes (downloads
# about 100 MB from a Debian mirror, so not part of `make test`).
check-deb: package
	scripts/install-deps --clean-root
	scripts/check-deb-clean-root $$(ls -t $(BUILD)/tandem_*.deb | head -1)

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Each libFuzzer target for FUZZ_SECONDS, from the seed corpus in fuzz/corpus.
fuzz: build-fuzz
	scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(JOBS)

bench: build
	bench/index_bench --tandem $(BUILD)/tandem
	bench/sync_bench --tandem $(BUILD)/tandem
	bench/limits_bench --tandem $(BUILD)/tandem
	$(BUILD)/bench/micro_bench
	$(BUILD)/bench/ignore_scan_bench
	node bench/gui_bench.mjs --tandem $(BUILD)/tandem

# The web UI alone: first load, change to page, idle cost (issue 22).
bench-gui: build
	node bench/gui_bench.mjs --tandem $(BUILD)/tandem

# Issue 17's figures on a share of 100,000 files (several minutes; --quick for a smoke run).
bench-large: build
	bench/large_share --tandem $(BUILD)/tandem

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
