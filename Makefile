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

.PHONY: build test run generate bench bench-quick clean help

help:
	@echo "make run     serve the default model on $(HOST):$(PORT) (PORT=... to change)"
	@echo "make test    run the test suite"
	@echo "make build   compile and assemble build/lib for bin/candor"

build: $(LIB)

$(LIB): $(SOURCES)
	$(MVN) -q -DskipTests install
	rm -rf build/lib && mkdir -p build/lib
	$(MVN) -q -DskipTests dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/build/lib
	cp engine/target/candor-engine-*.jar probes/target/candor-probes-*.jar models/target/candor-models-*.jar build/lib/
	touch $@

test:
	$(MVN) test

$(DEFAULT_MODEL)/config.json: $(LIB)
	bin/candor checkpoint --shape qwen-vocab-tiny --seed 1 --std 0.1 --tokenizer models/tokenizers/qwen2.5 --out $(DEFAULT_MODEL)

run: $(LIB) $(DEFAULT_MODEL)/config.json
	bin/candor generate --model $(DEFAULT_MODEL) --chat "Hello! Who are you?" --max-tokens 24

clean:
	$(MVN) -q clean
	rm -rf build
