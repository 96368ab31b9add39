package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.LoadedModel;
import java.util.List;

/**
 * Test-scope door into the package-private request parser, for the fuzz targets in dev.candor.engine.fuzz. It adds no
 * logic: it calls {@link RequestParser} exactly as {@link OpenAiServer} does and copies the result out.
 */
public final class FuzzAccess {
  private FuzzAccess() {}

  /** A validated request, copied out of the package-private {@link ParsedRequest}. */
  public record Parsed(boolean chat, List<int[]> prompts, List<String> promptTexts, int n, Integer maxTokens,
      double temperature, double topP, int topK, List<String> stop, boolean logprobs, int topLogprobs,
      boolean hasBreaker, int breakerWindow, double breakerThreshold) {}

  /** The server's request parser with its default limits. */
  public static final class Parser {
    private final RequestParser parser;

    private Parser(RequestParser parser) {
      this.parser = parser;
    }

    /** {@code RequestParser.parseJson(body)} then {@code parse(root, chat)}; throws {@link ApiException}. */
    public Parsed parse(byte[] body, boolean chat) {
      return parse(RequestParser.parseJson(body), chat);
    }

    /** A /v1/responses body, as the server reads it: as the chat request it amounts to. */
    public Parsed parseResponses(byte[] body) {
      try {
        return parse(ResponsesRequest.chat(RequestParser.parseJson(body)), true);
      } catch (ApiException e) {
        throw ResponsesRequest.renamed(e);
      }
    }

    public Parsed parse(JsonNode root, boolean chat) {
      ParsedRequest r = parser.parse(root, chat);
      return new Parsed(r.chat(), r.prompts(), r.promptTexts(), r.n(), r.maxTokens(), r.sampling().temperature(),
          r.sampling().topP(), r.sampling().topK(), r.stop(), r.logprobs(), r.topLogprobs(), r.breaker() != null,
          r.breaker() == null ? 0 : r.breaker().window(), r.breaker() == null ? 0 : r.breaker().threshold());
    }
  }

  public static Parser requestParser(LoadedModel model) {
    return new Parser(new RequestParser(model, RequestLimits.DEFAULT,
        model.backend().config().maxPositionEmbeddings(), GenerationDefaults.OPENAI, new Constraints(model), false));
  }

  /** The limits the parser enforces: {maxN, maxStop, maxStopLength, maxMessages, maxTopLogprobs, maxPrompts}. */
  public static int[] defaultLimits() {
    RequestLimits l = RequestLimits.DEFAULT;
    return new int[] {l.maxN(), l.maxStop(), l.maxStopLength(), l.maxMessages(), l.maxTopLogprobs(), l.maxPrompts()};
  }

  /** The HTTP status an error would be sent with. */
  public static int status(ApiException e) {
    return e.status;
  }

  public static String param(ApiException e) {
    return e.param;
  }
}
