package dev.candor.engine.cli;

import dev.candor.engine.hub.HubCache;
import dev.candor.engine.hub.HubClient;
import dev.candor.engine.hub.Pull;
import dev.candor.engine.hub.RepoId;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code candor pull REPO[@REVISION]}: a model from the Hugging Face Hub into the local Hugging Face cache. */
@Command(name = "pull", mixinStandardHelpOptions = true,
    description = {"Download a model from the Hugging Face Hub into the Hugging Face cache (HF_HUB_CACHE, else"
        + " HF_HOME/hub, else ~/.cache/huggingface/hub), laid out as huggingface_hub lays it out. An interrupted"
        + " download resumes when the command runs again; each file's sha256 (LFS) or git hash is checked.",
        "HF_ENDPOINT names another hub, HF_TOKEN authenticates (private and gated models)."})
public final class PullCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "REPO[@REVISION]", description = "e.g. Qwen/Qwen2.5-0.5B-Instruct or"
      + " Qwen/Qwen2.5-0.5B-Instruct@main (a branch, a tag or a commit)")
  String repo;

  @Option(names = "--include", paramLabel = "GLOB", description = "files to fetch (repeatable; default: *.json,"
      + " *.safetensors, *.jinja, *.txt, *.md, LICENSE*: what Candor reads)")
  List<String> include;

  @Option(names = "--all", description = "fetch every file of the repository (also .bin, .gguf, ...)")
  boolean all;

  @Override
  public Integer call() {
    RepoId id = RepoId.parse(repo);
    var env = System.getenv();
    HubCache cache = HubCache.fromEnvironment(env);
    Pull pull = new Pull(cache, HubClient.fromEnvironment(env), System.err, 5);
    Pull.Result r = pull.pull(id, all ? null : include != null ? include : Pull.DEFAULT_INCLUDE);
    System.out.printf("pulled %s (commit %s): %d files, %.1f MB downloaded, in %s%n", id, r.commit(), r.files(),
        r.bytesDownloaded() / 1e6, r.snapshot());
    System.out.printf("serve it with: candor serve --model %s%n", id);
    return 0;
  }
}
