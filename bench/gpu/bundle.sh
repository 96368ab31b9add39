#!/usr/bin/env bash
# Packs what bench/gpu/run.sh needs on a GPU machine that has no Java and no network: a jlink runtime of this JDK
# with the modules the engine uses, and the jars GpuBench needs (the DJL tokenizer's native library for
# linux-x86_64 only; no PyTorch native jar: DJL's CUDA path is tried with the machine's own PyTorch).
# Output: build/gpu-bundle.tar.xz (about 25 MB), which run.sh unpacks. Run from the repository root: make gpu-bundle.
set -euo pipefail
java=$(bin/find-java)
jhome=${java%/bin/java}
rm -rf build/gpu-bundle && mkdir -p build/gpu-bundle/lib
"$jhome/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.unsupported,jdk.incubator.vector \
  --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output build/gpu-bundle/runtime 2>/dev/null
keep='^(candor-engine|candor-bench|api-0|gson|jna|commons-compress|commons-io|slf4j-api|slf4j-simple|tokenizers'
keep+='|jackson-databind|jackson-annotations|jackson-core|pytorch-engine|pytorch-jni)'
for jar in build/bench-lib/*.jar; do
  if [[ $(basename "$jar") =~ $keep ]]; then cp "$jar" build/gpu-bundle/lib/; fi
done
# the tokenizer jar carries natives for every platform: keep linux-x86_64
tok=$(ls build/gpu-bundle/lib/tokenizers-*.jar)
zip -q -d "$tok" 'native/lib/osx-*' 'native/lib/win-*' 'native/lib/linux-aarch64/*' >/dev/null 2>&1 || true
tar -C build -cJf build/gpu-bundle.tar.xz gpu-bundle
echo "bundle: build/gpu-bundle.tar.xz $(du -h build/gpu-bundle.tar.xz | cut -f1)" \
  "(unpacked $(du -sh build/gpu-bundle | cut -f1))"
