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
SOURCES := $(shell find engine probes models bench -name '*.java' -path '*/src/main/*' 2>/dev/null) $(wildcard pom.xml */pom.xml)
LIB := build/lib/.built
# until the trained default model exists, `make run` serves a small random model with Qwen2.5's tokenizer
DEFAULT_MODEL := build/default-model

.PHONY: build test run bench-decode clean help

help:
	@echo "make run     serve the default model on $(HOST):$(PORT) (PORT=... to change)"
	@echo "make test    run the test suite"
	@echo "make build   compile and assemble build/lib for bin/candor"

build: $(LIB)

$(LIB): $(SOURCES)
	$(MVN) -q -DskipTests install
	rm -rf build/lib build/bench-lib && mkdir -p build/lib build/bench-lib
	$(MVN) -q -DskipTests dependency:copy-dependencies -pl models -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/build/lib
	cp engine/target/candor-engine-*.jar probes/target/candor-probes-*.jar models/target/candor-models-*.jar build/lib/
	$(MVN) -q -DskipTests dependency:copy-dependencies -pl bench -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/build/bench-lib
	cp bench/target/candor-bench-*.jar build/bench-lib/
	touch $@

# JMH: one decode step of a random Qwen2.5-0.5B-shaped checkpoint against the machine's read bandwidth, in one run
bench-decode: $(LIB)
	$(JAVA) --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "build/bench-lib/*" dev.candor.bench.DecodeVsBandwidth qwen2.5-0.5b 2

test:
	$(MVN) test

$(DEFAULT_MODEL)/config.json: $(LIB)
	bin/candor checkpoint --shape qwen-vocab-tiny --seed 1 --std 0.1 --tokenizer models/tokenizers/qwen2.5 --out $(DEFAULT_MODEL)

run: $(LIB) $(DEFAULT_MODEL)/config.json
	bin/candor serve --model $(DEFAULT_MODEL) --name candor-default --host $(HOST) --port $(PORT)

clean:
	$(MVN) -q clean
	rm -rf build
