# Thin wrapper over CMake. Every target first installs missing Debian packages (scripts/deps.sh).
BUILD      ?= build
TEST_BUILD ?= build-test
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 600
JOBS       ?= $(shell nproc)

.PHONY: valgrind all build run test deps receiver-deps contract-deps browser-deps bench clean format fuzz-build fuzz-smoke fuzz

all: build

deps:
	@sh scripts/deps.sh

receiver-deps: deps
	@[ -d tests/receiver/node_modules/standardwebhooks ] && [ -d tests/receiver/node_modules/ajv ] || \
	  (cd tests/receiver && npm ci --no-audit --no-fund --loglevel=error)

# The contract tests (tests/contract): Redocly CLI lints openapi.yaml, Prism proxies real traffic
# and checks it against openapi.yaml; both pinned in tests/contract/package-lock.json.
contract-deps: deps
	@[ -d tests/contract/node_modules/@stoplight/prism-cli ] && [ -d tests/contract/node_modules/@redocly/cli ] || \
	  (cd tests/contract && npm ci --no-audit --no-fund --loglevel=error)

# The dashboard's browser test: Debian's headless Chromium (only for tests, so not in
# scripts/deps.sh) and playwright-core, pinned in tests/browser/package-lock.json.
browser-deps: deps
	@[ -x /usr/bin/chromium ] || [ "$${SEGMENTD_SKIP_DEPS:-0}" = 1 ] || { \
	  echo "segmentd: installing chromium chromium-driver (browser test)" >&2; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver >&2; }
	@[ -d tests/browser/node_modules/playwright-core ] || \
	  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEGMENTD_WERROR=$(if $(CI),ON,OFF) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target segmentd

# Runs the service on the embedded PostgreSQL (./var/pg); the first start also fills the `demo`
# workspace with a synthetic shop (`default` stays empty for real data).
run: build
	@./$(BUILD)/segmentd --config config/segmentd.ini demo --if-missing
	@./$(BUILD)/segmentd --config config/segmentd.ini

# The test suite: warnings are errors, AddressSanitizer + UndefinedBehaviorSanitizer on. The
# webhook tests' receiver verifies with the reference `standardwebhooks` npm package (pinned in
# tests/receiver/package-lock.json).
test: deps receiver-deps contract-deps browser-deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSEGMENTD_WERROR=ON -DSEGMENTD_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)
	@cd $(TEST_BUILD) && ctest --output-on-failure -j 2
	@$(MAKE) --no-print-directory fuzz-smoke

# libFuzzer targets (fuzz/, clang; -fsanitize=fuzzer,address,undefined). fuzz-smoke replays each
# committed corpus (fuzz/corpus/<target>/) then fuzzes each target 10 s; `make fuzz FUZZ_TIME=600`
# fuzzes longer. New inputs go to $(FUZZ_BUILD)/fuzz-work, crashes to $(FUZZ_BUILD)/fuzz-artifacts.
fuzz-build: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSEGMENTD_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

fuzz-smoke: fuzz-build
	@sh fuzz/run.sh $(FUZZ_BUILD) 10

fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME)

# The integration suites that do not measure time, with the server under valgrind memcheck (on
# demand; slow). Every server's report lands in build-valgrind/valgrind-PID.log; the target fails
# if any reports an error or a definite leak.
VALGRIND_TESTS ?= test_api|test_lifecycle|test_ingest|test_segments|test_campaigns|test_kpis|test_history|test_imports|test_secrets
valgrind: deps receiver-deps
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind >/dev/null)
	@cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-valgrind -j $(JOBS)
	@rm -f build-valgrind/valgrind-*.log
	@cd build-valgrind && HARNESS_SERVER_WRAPPER="/usr/bin/valgrind --error-exitcode=42 --leak-check=full --errors-for-leak-kinds=definite --log-file=$(CURDIR)/build-valgrind/valgrind-%p.log" \
	  ctest --output-on-failure -R '$(VALGRIND_TESTS)'
	@! grep -l 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]' build-valgrind/valgrind-*.log 2>/dev/null
	@echo "valgrind: $$(ls build-valgrind/valgrind-*.log | wc -l) server runs, no memcheck error, no definite leak"

bench: build
	@$(MAKE) -C bench

format:
	@clang-format -i src/*.c src/*/*.c include/segmentd/*.h tests/*/*.c tests/*/*.h

clean:
	@rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD)
