# The two commands of the README, plus the pieces they are made of. CMake does the building;
# this file only sequences: dependencies, configure, build, run.
JOBS ?= $(shell nproc)
BUILD := build
TEST_BUILD := build-test

.PHONY: all deps build test fuzz demo bench clean

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

# Every libFuzzer target (tests/fuzz/fuzz_*.c) for FUZZ_SECONDS each, one after another, from
# its committed corpus (tests/fuzz/corpus/NAME/). New inputs, logs and any crash land in
# build-test/fuzz-campaign/; a crash file that is real goes into the corpus with its fix.
FUZZ_SECONDS ?= 600
FUZZ_CAMPAIGN := $(TEST_BUILD)/fuzz-campaign

fuzz: deps
	@CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIPRO_SANITIZE=ON -DIPRO_FUZZ=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS) --target fuzz_targets
	@for source in tests/fuzz/fuzz_*.c; do \
	  name=$$(basename $$source .c | sed 's/^fuzz_//'); \
	  case $$name in dataset) max_len=16384;; *) max_len=4096;; esac; \
	  mkdir -p $(FUZZ_CAMPAIGN)/$$name; \
	  echo "fuzz_$$name: $(FUZZ_SECONDS) s"; \
	  $(TEST_BUILD)/tests/fuzz_$$name -max_total_time=$(FUZZ_SECONDS) -max_len=$$max_len \
	    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$(FUZZ_CAMPAIGN)/$$name- \
	    $(FUZZ_CAMPAIGN)/$$name tests/fuzz/corpus/$$name > $(FUZZ_CAMPAIGN)/$$name.log 2>&1; \
	  status=$$?; grep -E '^stat::(number_of_executed_units|new_units_added)|SUMMARY' \
	    $(FUZZ_CAMPAIGN)/$$name.log; \
	  [ $$status -eq 0 ] || echo "fuzz_$$name: FINDING, see $(FUZZ_CAMPAIGN)/$$name.log"; \
	done

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
