package dev.candor.engine.server;

/** The {@code error.type} values of OpenAI's error object that Candor sends. */
enum ErrorType {
  /** The client's request is wrong: malformed, out of range, unsupported, unauthorized, not found. */
  INVALID_REQUEST("invalid_request_error"),
  /** Too many requests: the queue is full. */
  RATE_LIMIT("rate_limit_error"),
  /** The server could not do what it should have: a model failure, shutting down, a timeout. */
  SERVER("server_error");

  final String apiName;

  ErrorType(String apiName) {
    this.apiName = apiName;
  }
}
