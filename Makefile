# The common verbs. `make demo` and `make test` install what is missing first.
BUILD_DIR ?= build
PRESET ?= release
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test demo bench format clean

all: build

setup:
	@scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	@cmake --preset $(PRESET) >/dev/null

configure: $(BUILD_DIR)/build.ninja

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: setup
	@$(MAKE) --no-print-directory build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900 $(CTEST_ARGS)

demo: setup
	@$(MAKE) --no-print-directory build
	@$(BUILD_DIR)/hrflow demo

bench: setup
	@$(MAKE) --no-print-directory build
	@bench/run.sh $(BUILD_DIR)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-debug
