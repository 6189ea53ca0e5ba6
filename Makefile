# The two commands of the README, plus the pieces they are made of. CMake does the building;
# this file only sequences: dependencies, configure, build, run.
JOBS ?= $(shell nproc)
BUILD := build
TEST_BUILD := build-test

.PHONY: all deps build test demo bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The test build has AddressSanitizer and UndefinedBehaviorSanitizer.
test: deps
	@CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIPRO_SANITIZE=ON -DIPRO_FUZZ=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)
	@cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@./$(BUILD)/infopro inspect models/resnet8_fmnist.onnx --batch 128

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
