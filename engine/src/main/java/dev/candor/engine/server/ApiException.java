package dev.candor.engine.server;

/**
 * An error the client receives in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with an HTTP status.
 * Messages say what was wrong with the request; they never carry stack traces or file paths.
 */
public final class ApiException extends RuntimeException {
  final int status;
  final String type;
  final String param;
  final String code;

  public ApiException(int status, String type, String param, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  static ApiException invalid(String param, String message) {
    return new ApiException(400, "invalid_request_error", param, null, message);
  }

  static ApiException invalid(String param, String code, String message) {
    return new ApiException(400, "invalid_request_error", param, code, message);
  }

  static ApiException unsupported(String param, String message) {
    return new ApiException(400, "invalid_request_error", param, "unsupported_parameter", message);
  }
}
