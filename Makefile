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

# The mission in one command: plan ResNet-8 for Fashion-MNIST under a memory budget (table,
# JSON and an HTML page in demo-out/), then train it with that plan and write trained.onnx.
DEMO_MODEL := models/resnet8_fmnist.onnx
DEMO_BUDGET := 64MiB
DEMO_EPOCHS := 2

demo: build
	@mkdir -p demo-out
	./$(BUILD)/infopro plan $(DEMO_MODEL) --batch 128 --budget $(DEMO_BUDGET) \
	  --json demo-out/plan.json --html demo-out/plan.html
	./$(BUILD)/infopro train $(DEMO_MODEL) --data fashion-mnist --plan demo-out/plan.json \
	  --epochs $(DEMO_EPOCHS) --batch 128 --out trained.onnx

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
