# Thin wrapper over CMake. Every target first installs missing Debian packages (scripts/deps.sh).
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)

.PHONY: all build run test deps receiver-deps browser-deps bench clean format

all: build

deps:
	@sh scripts/deps.sh

receiver-deps: deps
	@[ -d tests/receiver/node_modules/standardwebhooks ] || \
	  (cd tests/receiver && npm ci --no-audit --no-fund --loglevel=error)

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
test: deps receiver-deps browser-deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSEGMENTD_WERROR=ON -DSEGMENTD_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)
	@cd $(TEST_BUILD) && ctest --output-on-failure -j 2

bench: build
	@$(MAKE) -C bench

format:
	@clang-format -i src/*.c src/*/*.c include/segmentd/*.h tests/*/*.c tests/*/*.h

clean:
	@rm -rf $(BUILD) $(TEST_BUILD)
