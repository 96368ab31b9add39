package dev.candor.engine.grammar;

/**
 * A JSON schema that constrained decoding cannot honour: a keyword it does not implement, a malformed value, or a
 * schema that admits no value at all. It names the place in the schema (a JSON pointer such as
 * {@code #/properties/tags/items}) and the keyword, so the server can answer with a 400 that says what to change.
 */
public final class SchemaException extends IllegalArgumentException {
  private final String path;
  private final String keyword;

  public SchemaException(String path, String keyword, String problem) {
    super("schema at " + path + (keyword == null ? "" : ", keyword '" + keyword + "'") + ": " + problem);
    this.path = path;
    this.keyword = keyword;
  }

  /** Where in the schema, as a JSON pointer ({@code #} is the root). */
  public String path() {
    return path;
  }

  /** The keyword at fault, or null when the fault is not one keyword's. */
  public String keyword() {
    return keyword;
  }
}
