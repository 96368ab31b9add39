package dev.candor.engine.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.RandomCheckpoint;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code candor pull} and {@code --model ORG/NAME} against a fake hub on loopback ({@link FakeHub}): the cache is laid
 * out as huggingface_hub lays it out, an interrupted download resumes with a Range request, a corrupted file is
 * caught by its sha256, a bad or absent repo is one line, the token goes to the hub and never to the CDN, and a
 * pulled checkpoint loads by its repo id. No test needs the internet.
 */
class HubTest {
  static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

  @TempDir
  Path tmp;
  FakeHub hub;
  HubCache cache;

  @BeforeEach
  void start() throws IOException {
    hub = new FakeHub();
    cache = new HubCache(tmp.resolve("hub"));
  }

  @AfterEach
  void stop() {
    hub.close();
  }

  static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  Map<String, FakeHub.File> smallRepo() {
    Map<String, FakeHub.File> files = new LinkedHashMap<>();
    files.put("config.json", new FakeHub.File("{\"a\": 1}".getBytes(StandardCharsets.UTF_8), false));
    files.put("model.safetensors", new FakeHub.File(bytes(300_000, 1), true));
    files.put("additional_chat_templates/tool_use.jinja", new FakeHub.File("{{ x }}".getBytes(StandardCharsets.UTF_8),
        false));
    files.put("pytorch_model.bin", new FakeHub.File(bytes(1000, 2), true));
    return files;
  }

  Pull pull(String token, int retries) {
    return new Pull(cache, new HubClient(hub.endpoint(), token, 10_000), null, retries);
  }

  @Test
  void pullLaysTheCacheOutAsHuggingFaceHubDoes() throws IOException {
    Map<String, FakeHub.File> files = smallRepo();
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), files, null));
    Pull.Result r = pull(null, 0).pull(RepoId.parse("org/model"), Pull.DEFAULT_INCLUDE);
    Path folder = tmp.resolve("hub/models--org--model");
    assertEquals(COMMIT, Files.readString(folder.resolve("refs/main")), "refs/main holds the commit, no newline");
    assertEquals(folder.resolve("snapshots").resolve(COMMIT), r.snapshot());
    assertEquals(3, r.files(), "the default skips pytorch_model.bin");
    assertFalse(Files.exists(r.snapshot().resolve("pytorch_model.bin")));
    byte[] weights = files.get("model.safetensors").content();
    Path entry = r.snapshot().resolve("model.safetensors");
    assertTrue(Files.isSymbolicLink(entry));
    assertEquals(Path.of("../../blobs/" + FakeHub.sha256(weights)), Files.readSymbolicLink(entry),
        "an LFS file's blob is named by its sha256, linked relatively");
    assertArrayEquals(weights, Files.readAllBytes(entry));
    byte[] config = files.get("config.json").content();
    assertEquals(Path.of("../../blobs/" + FakeHub.gitSha1(config)), Files.readSymbolicLink(
        r.snapshot().resolve("config.json")), "a regular file's blob is named by its git blob sha1");
    assertEquals(Path.of("../../../blobs/" + FakeHub.gitSha1("{{ x }}".getBytes(StandardCharsets.UTF_8))),
        Files.readSymbolicLink(r.snapshot().resolve("additional_chat_templates/tool_use.jinja")));
    assertEquals(r.snapshot(), cache.snapshot(RepoId.parse("org/model")).orElseThrow());
    assertEquals(r.snapshot(), cache.snapshot(RepoId.parse("org/model@" + COMMIT)).orElseThrow());
    try (Stream<Path> blobs = Files.list(folder.resolve("blobs"))) {
      assertTrue(blobs.noneMatch(p -> p.toString().endsWith(".incomplete")));
    }
  }

  @Test
  void aSecondPullDownloadsNothing() {
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), smallRepo(), null));
    pull(null, 0).pull(RepoId.parse("org/model"), null);
    hub.requests.clear();
    Pull.Result again = pull(null, 0).pull(RepoId.parse("org/model"), null);
    assertEquals(0, again.bytesDownloaded());
    assertEquals(List.of("GET /api/models/org/model/revision/main"), hub.requests, "only the revision is asked");
  }

  @Test
  void anInterruptedDownloadResumesWithARangeRequest() throws IOException {
    Map<String, FakeHub.File> files = smallRepo();
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), files, null));
    hub.cutAfter.set(120_000);
    var e = assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse("org/model"), null));
    assertTrue(e.getMessage().contains("run the same command again to resume"), e.getMessage());
    byte[] weights = files.get("model.safetensors").content();
    Path incomplete = cache.blob(RepoId.parse("org/model"), FakeHub.sha256(weights) + ".incomplete");
    assertEquals(120_000, Files.size(incomplete), "the partial file is kept");
    hub.requests.clear();
    pull(null, 0).pull(RepoId.parse("org/model"), null);
    assertTrue(hub.requests.contains("GET /cdn/" + FakeHub.sha256(weights) + " Range:bytes=120000-"), hub.requests
        .toString());
    assertArrayEquals(weights, Files.readAllBytes(cache.snapshot(RepoId.parse("org/model")).orElseThrow()
        .resolve("model.safetensors")), "resumed and verified by its sha256");
    assertFalse(Files.exists(incomplete));
  }

  @Test
  void aBrokenConnectionIsResumedWithinTheRunToo() throws IOException {
    Map<String, FakeHub.File> files = smallRepo();
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), files, null));
    hub.cutAfter.set(50_000);
    pull(null, 3).pull(RepoId.parse("org/model"), null);
    assertTrue(hub.requests.stream().anyMatch(r -> r.endsWith("Range:bytes=50000-")), hub.requests.toString());
    assertArrayEquals(files.get("model.safetensors").content(), Files.readAllBytes(cache.snapshot(
        RepoId.parse("org/model")).orElseThrow().resolve("model.safetensors")));
  }

  @Test
  void aServerThatIgnoresRangeIsReadFromTheStart() throws IOException {
    Map<String, FakeHub.File> files = smallRepo();
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), files, null));
    hub.cutAfter.set(70_000);
    assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse("org/model"), null));
    hub.ignoreRange = true;
    pull(null, 0).pull(RepoId.parse("org/model"), null);
    assertArrayEquals(files.get("model.safetensors").content(), Files.readAllBytes(cache.snapshot(
        RepoId.parse("org/model")).orElseThrow().resolve("model.safetensors")));
  }

  @Test
  void aCorruptedDownloadFailsItsSha256AndIsDeleted() throws IOException {
    Map<String, FakeHub.File> files = smallRepo();
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), files, null));
    hub.corrupt = true;
    var e = assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse("org/model"), null));
    String sha = FakeHub.sha256(files.get("model.safetensors").content());
    assertTrue(e.getMessage().startsWith("model.safetensors: the sha256 of the download is ")
        && e.getMessage().contains("but the hub says " + sha), e.getMessage());
    assertFalse(Files.exists(cache.blob(RepoId.parse("org/model"), sha)));
    assertFalse(Files.exists(cache.blob(RepoId.parse("org/model"), sha + ".incomplete")));
    assertFalse(Files.exists(cache.repoFolder(RepoId.parse("org/model")).resolve("snapshots").resolve(COMMIT)
        .resolve("model.safetensors")));
  }

  @Test
  void badAndAbsentReposAreOneLine() {
    for (String bad : List.of("not a repo", "a/b/c", "../x", "-x/y", "x--y/z", "org/model.git", "")) {
      var e = assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse(bad), null));
      assertTrue(e.getMessage().startsWith("'" + bad + "' is not a Hugging Face repo id"), e.getMessage());
    }
    assertTrue(hub.requests.isEmpty(), "a bad id never reaches the network");
    var absent = assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse("org/absent"), null));
    assertEquals("repository 'org/absent' not found on 127.0.0.1 (if it is private or gated, set HF_TOKEN)",
        absent.getMessage());
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), smallRepo(), null));
    var revision = assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse("org/model@v9"),
        null));
    assertEquals("org/model has no revision 'v9' on 127.0.0.1", revision.getMessage());
    var unreachable = assertThrows(CheckpointException.class, () -> new Pull(cache, new HubClient(
        "http://127.0.0.1:1", null, 2000), null, 0).pull(RepoId.parse("org/model"), null));
    assertTrue(unreachable.getMessage().startsWith("cannot reach http://127.0.0.1:1"), unreachable.getMessage());
  }

  @Test
  void aPrivateRepoNeedsTheTokenAndTheTokenNeverLeavesTheHub() {
    hub.add("org/private", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), smallRepo(), "secret-token"));
    assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse("org/private"), null));
    Pull.Result r = pull("secret-token", 0).pull(RepoId.parse("org/private"), null);
    assertEquals(4, r.files());
    assertFalse(hub.cdnAuthorizations.isEmpty());
    assertTrue(hub.cdnAuthorizations.stream().allMatch(a -> a.equals("null")), "no Authorization to the CDN: "
        + hub.cdnAuthorizations);
  }

  @Test
  void aRevisionIsRecordedInRefsAndACommitNeedsNone() {
    hub.add("org/model", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT, "v1", COMMIT), smallRepo(), null));
    pull(null, 0).pull(RepoId.parse("org/model@v1"), null);
    assertTrue(Files.exists(cache.repoFolder(RepoId.parse("org/model")).resolve("refs/v1")));
    assertFalse(Files.exists(cache.repoFolder(RepoId.parse("org/model")).resolve("refs/main")));
    pull(null, 0).pull(RepoId.parse("org/model@" + COMMIT), null);
    assertFalse(Files.exists(cache.repoFolder(RepoId.parse("org/model")).resolve("refs/main")), "no ref for a commit");
  }

  @Test
  void aFileNameThatLeavesTheRepoIsRefused() {
    Map<String, FakeHub.File> files = new LinkedHashMap<>(smallRepo());
    files.put("../../escape.json", new FakeHub.File(new byte[] {1}, false));
    hub.add("org/evil", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), files, null));
    var e = assertThrows(CheckpointException.class, () -> pull(null, 0).pull(RepoId.parse("org/evil"), null));
    assertTrue(e.getMessage().contains("'../../escape.json'") && e.getMessage().contains("refused"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("escape.json")));
  }

  @Test
  void theCacheIsWhereTheEnvironmentSays() {
    assertEquals(Path.of("/c/hub"), HubCache.fromEnvironment(Map.of("HF_HUB_CACHE", "/c/hub", "HF_HOME", "/h"))
        .root());
    assertEquals(Path.of("/h/hub"), HubCache.fromEnvironment(Map.of("HF_HOME", "/h")).root());
    assertEquals(Path.of("/x/huggingface/hub"), HubCache.fromEnvironment(Map.of("XDG_CACHE_HOME", "/x")).root());
    assertEquals(Path.of("/home/u/.cache/huggingface/hub"), HubCache.fromEnvironment(Map.of("HOME", "/home/u"))
        .root());
    assertEquals(Path.of("/home/u/hf/hub"), HubCache.fromEnvironment(Map.of("HOME", "/home/u", "HF_HOME", "~/hf"))
        .root());
    assertEquals("https://huggingface.co", HubClient.fromEnvironment(Map.of()).endpoint().toString());
    assertEquals("http://mirror.local:8080", HubClient.fromEnvironment(Map.of("HF_ENDPOINT",
        "http://mirror.local:8080/")).endpoint().toString());
  }

  @Test
  void aPulledCheckpointLoadsByItsRepoId() throws IOException {
    Qwen2Config shape = new Qwen2Config(16, 24, 1, 2, 1, 8, 1e-6, 10000, 151936, 64, true, DType.F32);
    Path source = tmp.resolve("source");
    RandomCheckpoint.write(source, shape, 5, 0.2, DType.F32, 0, TestCheckpoints.qwenTokenizer(), List.of(151645));
    Map<String, FakeHub.File> files = new LinkedHashMap<>();
    try (Stream<Path> list = Files.list(source)) {
      for (Path f : list.toList()) {
        String name = f.getFileName().toString();
        files.put(name, new FakeHub.File(Files.readAllBytes(f), name.endsWith(".safetensors")
            || name.equals("tokenizer.json")));
      }
    }
    hub.add("Qwen/Tiny-Instruct", new FakeHub.Repo(COMMIT, Map.of("main", COMMIT), files, null));
    pull(null, 0).pull(RepoId.parse("Qwen/Tiny-Instruct"), Pull.DEFAULT_INCLUDE);
    Map<String, String> env = Map.of("HF_HUB_CACHE", cache.root().toString());
    ModelLocator.Location where = ModelLocator.locate("Qwen/Tiny-Instruct", env);
    assertEquals("Qwen/Tiny-Instruct", where.name());
    assertEquals(where, ModelLocator.locate("Qwen/Tiny-Instruct@main", env));
    assertEquals(where.directory(), ModelLocator.locate("Qwen/Tiny-Instruct@" + COMMIT, env).directory());
    var missing = assertThrows(CheckpointException.class, () -> ModelLocator.locate("Qwen/Absent", env));
    assertTrue(missing.getMessage().contains("'candor pull Qwen/Absent' downloads it"), missing.getMessage());
    assertEquals(source.toAbsolutePath().normalize(), ModelLocator.locate(source.toString(), env).directory(),
        "a directory is a directory");
    try (var checkpoint = dev.candor.engine.checkpoint.Checkpoint.open(where.directory());
        var backend = dev.candor.engine.cpu.JavaBackend.load(checkpoint);
        var sequence = backend.newSequence(8)) {
      assertEquals(151936, sequence.prefill(new int[] {1, 2, 3}).length, "the symlinked weights load and run");
    }
  }

  /** LoadedModel resolves a repo id through the process environment, which tests cannot set: a missing one. */
  @Test
  void loadedModelSaysHowToFetchAMissingRepo() {
    var e = assertThrows(CheckpointException.class, () -> LoadedModel.load(Path.of("candor-test/never-pulled"),
        "cpu"));
    assertTrue(e.getMessage().startsWith("candor-test/never-pulled: not a checkpoint directory, and the Hugging Face"
        + " cache"), e.getMessage());
  }

  @Test
  void theCommandSaysABadRepoIdInOneLine() {
    java.io.PrintStream saved = System.err;
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
    int status;
    try {
      status = dev.candor.engine.cli.EngineCli.run(new dev.candor.engine.cli.EngineCli(), "pull", "not/a/repo");
    } finally {
      System.setErr(saved);
    }
    assertEquals(2, status, err.toString(StandardCharsets.UTF_8));
    assertEquals("error: 'not/a/repo' is not a Hugging Face repo id: it has more than one '/' (namespace/name)",
        err.toString(StandardCharsets.UTF_8).strip());
  }
}
