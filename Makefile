# Thin wrapper over CMake. Every target first installs missing Debian packages (scripts/deps.sh).
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)

.PHONY: all build run test deps receiver-deps bench clean format

all: build

deps:
	@sh scripts/deps.sh

receiver-deps: deps
	@[ -d tests/receiver/node_modules/standardwebhooks ] || \
	  (cd tests/receiver && npm ci --no-audit --no-fund --loglevel=error)

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
test: deps receiver-deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSEGMENTD_WERROR=ON -DSEGMENTD_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)
	@cd $(TEST_BUILD) && ctest --output-on-failure -j 2

bench: build
	@$(MAKE) -C bench

format:
	@clang-format -i src/*.c src/*/*.c include/segmentd/*.h tests/*/*.c tests/*/*.h

clean:
	@rm -rf $(BUILD) $(TEST_BUILD)
