# Candor: `make run` serves the embedded default model on 127.0.0.1:$(PORT); `make test` runs the whole suite.
# Everything else is set up here from a fresh clone: JDK 25 is found (JAVA_HOME, else /usr/lib/jvm/temurin-25*),
# Maven comes through the wrapper, dependencies from Maven Central, native caches go to .cache/.

PORT ?= 8000
HOST ?= 127.0.0.1
JAVA := $(shell bin/find-java)
ifeq ($(JAVA),)
$(error Candor needs JDK 25; see the message above)
endif
export JAVA_HOME := $(patsubst %/bin/java,%,$(JAVA))
MVN := ./mvnw -B -ntp
SOURCES := $(shell find engine probes models bench -type f -path '*/src/main/*' 2>/dev/null) $(wildcard pom.xml */pom.xml)
LIB := build/lib/.built
# the embedded default: a small target and drafter trained on the code-trace task, and their calibrated probe
DEFAULT := models/default

.PHONY: build test test-browser run models bench bench-quick bench-serving bench-q8 bench-jmh bench-decode gpu-bundle stress clean help

help:
	@echo "make run     serve the default model, and its web page at http://$(HOST):$(PORT)/ (PORT=... to change)"
	@echo "make test    run the test suite (the web page's browser tests too, when Chromium is installed)"
	@echo "make test-browser  only the web page's tests, in headless Chromium (apt-get install chromium)"
	@echo "make build   compile and assemble build/lib for bin/candor"
	@echo "make models  retrain the default target, drafter and probe from their seeds (about three hours)"
	@echo "make bench   end-to-end benchmark against the bandwidth limit and llama.cpp, then bench-serving (bench-quick, bench-q8, bench-jmh: see bench/README.md)"
	@echo "make stress  load, fault and fuzz tests at a larger size; writes build/stress/REPORT.md"

build: $(LIB)

$(LIB): $(SOURCES)
	$(MVN) -q -DskipTests install
	rm -rf build/lib build/bench-lib && mkdir -p build/lib build/bench-lib
	$(MVN) -q -DskipTests dependency:copy-dependencies -pl models -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/build/lib
	cp engine/target/candor-engine-*.jar probes/target/candor-probes-*.jar models/target/candor-models-*.jar build/lib/
	$(MVN) -q -DskipTests dependency:copy-dependencies -pl bench -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/build/bench-lib
	cp bench/target/candor-bench-*.jar build/bench-lib/
	touch $@

BENCH_JAVA := $(JAVA) --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx6g \
  -Dai.djl.offline=true -DDJL_CACHE_DIR=$(CURDIR)/.cache/djl -DENGINE_CACHE_DIR=$(CURDIR)/.cache/djl \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "build/bench-lib/*"

# End to end, in one run: every model at every weight format against the bandwidth limit and the peer (llama.cpp,
# built once into ~/.cache/candor/peer), teacher-forced logits compared, invalid cases marked. Writes
# bench/results/DATE-MACHINE.{json,md} and bench/results/summary.json. BENCH_ARGS="--only qwen2.5-0.5b:q8_0" etc.
BENCH_ARGS ?=
bench: $(LIB)
	$(BENCH_JAVA) dev.candor.bench.EndToEnd $(BENCH_ARGS)
	$(BENCH_JAVA) dev.candor.bench.ServingBenchmark $(SERVING_ARGS)

# The server as a user meets it: aggregate decode at 1/2/4/8 streams, short requests under load, a repeated prompt
# (prefix cache); each backend's batched forward against its entries in turn; llama.cpp's batched decode. Writes
# bench/results/DATE-MACHINE-serving.{json,md} and the "serving" part of summary.json (a part run alone replaces only
# its own entries). SERVING_ARGS="--only qwen2.5-0.5b,peer", "--no-peer", "--no-servers", "--no-backends", "--no-djl".
SERVING_ARGS ?=
bench-serving: $(LIB)
	$(BENCH_JAVA) dev.candor.bench.ServingBenchmark $(SERVING_ARGS)

# The default model and the 0.5B shape at bf16 and q8_0, fewer tokens and one repetition: two commits compared in minutes.
bench-quick: $(LIB)
	$(BENCH_JAVA) dev.candor.bench.EndToEnd --quick $(BENCH_ARGS)

# What --weights q8_0 changes: logit error, greedy agreement, the default probe's calibration (bench/results/q8_0-quality.md).
bench-q8: $(LIB)
	$(BENCH_JAVA) dev.candor.bench.QuantizationQuality

# JMH: the parts of the hot loop, each alone (see bench/README.md); JMH_ARGS passes options, e.g. JMH_ARGS="-f 1 Record"
bench-jmh: $(LIB)
	$(BENCH_JAVA) org.openjdk.jmh.Main $(JMH_ARGS)

# JMH: one decode step of a random Qwen2.5-0.5B-shaped checkpoint against the machine's read bandwidth, in one run
bench-decode: $(LIB)
	$(JAVA) --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "build/bench-lib/*" dev.candor.bench.DecodeVsBandwidth qwen2.5-0.5b 2

# What bench/gpu/run.sh needs on a GPU machine with no Java and no network: a jlink runtime and the jars, packed
# into build/gpu-bundle.tar.xz (carry it with the call; see bench/gpu/README.md).
gpu-bundle: $(LIB)
	bash bench/gpu/bundle.sh

test:
	$(MVN) test

# The web page's tests alone: routes over HTTP, then headless Chromium against the real server (fails without Chromium).
test-browser:
	CANDOR_REQUIRE_BROWSER=1 $(MVN) test -pl engine -Dtest='WebUiTest,WebPage*Test' -Dsurefire.failIfNoSpecifiedTests=false

run: $(LIB)
	bin/candor serve --model $(DEFAULT)/target --drafter $(DEFAULT)/drafter --probe $(DEFAULT)/probe \
	  --name candor-default --host $(HOST) --port $(PORT)

# Retrains the default models and probe from their seeds into $(DEFAULT) (about three hours on 2 cores: drafter
# ~20 min, target ~30 min, then the probe study, models/default/make-probe.sh, ~2 hours of it 75 probe trainings),
# records the held-out sample DefaultModelsTest reproduces, and regenerates the README's probe tables.
models: $(LIB)
	bin/candor train --role drafter --steps 6000 --lr 3e-3 --out $(DEFAULT)/drafter
	bin/candor train --role target --steps 2000 --lr 2e-3 --drafter $(DEFAULT)/drafter --out $(DEFAULT)/target
	bin/candor evaluate --model $(DEFAULT)/target --drafter $(DEFAULT)/drafter --problems 40 --record reproduce_sample
	bash $(DEFAULT)/make-probe.sh

# Load, fault and fuzz tests at a larger size than CI's; writes build/stress/REPORT.md. At the default size the load and
# fault stages take about 10 minutes on 2 cores, the fuzzing up to 20 minutes a target (15 targets: 10^6 executions
# take 2 to 15 minutes each, by target).
# STRESS="CLIENTS SECONDS FUZZ_SECONDS FUZZ_EXECUTIONS" changes the sizes.
STRESS ?= 64 60 1200 1000000
stress:
	bin/stress $(STRESS)

clean:
	$(MVN) -q clean
	rm -rf build
