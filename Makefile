# netipc top-level commands. Everything builds out of tree under build/.
#   make demo    build and show the library doing its job
#   make test    install build dependencies, build with gcc and clang, run every test
#   make test-load  chaos, stress and service suites with every core busy, 3 runs in a row
#   make bench   full benchmark suite and report (docs/benchmarks.md)
#   make clean   remove build/

JOBS ?= 2
BUILD ?= build
CMAKE_GEN ?= -G "Unix Makefiles"

.PHONY: all demo test test-load test-gcc test-clang test-fuzz test-install bench bench-quick clean deps fuzz-long

all: demo

deps:
	@bash scripts/install-deps.sh base

$(BUILD)/gcc/Makefile: deps
	cmake -S . -B $(BUILD)/gcc $(CMAKE_GEN) -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

demo:
	@BUILD=$(BUILD) JOBS=$(JOBS) bash scripts/demo.sh

test:
	@bash scripts/test.sh

test-load: deps
	@bash scripts/test-load.sh

bench:
	@bash scripts/bench.sh full

bench-quick:
	@bash scripts/bench.sh quick

# Every fuzz target for FUZZ_SECONDS seconds each, one after another (own build dir).
FUZZ_SECONDS ?= 600
fuzz-long:
	@bash scripts/install-deps.sh base test
	cmake -S . -B $(BUILD)/fuzz-long $(CMAKE_GEN) -DCMAKE_C_COMPILER=clang -DNETIPC_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETIPC_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cmake --build $(BUILD)/fuzz-long -j$(JOBS)
	ctest --test-dir $(BUILD)/fuzz-long -L fuzz -j1 --output-on-failure

clean:
	rm -rf $(BUILD)
