package dev.candor.engine.server;

/**
 * An error the client receives in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with an HTTP status.
 * Messages say what was wrong with the request, in Candor's words; they never carry stack traces, file paths or the
 * names of library classes.
 */
public final class ApiException extends RuntimeException {
  final int status;
  final ErrorType type;
  final String param;
  final String code;

  ApiException(int status, ErrorType type, String param, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  static ApiException invalid(String param, String message) {
    return new ApiException(400, ErrorType.INVALID_REQUEST, param, null, message);
  }

  static ApiException invalid(String param, String code, String message) {
    return new ApiException(400, ErrorType.INVALID_REQUEST, param, code, message);
  }

  static ApiException unsupported(String param, String message) {
    return new ApiException(400, ErrorType.INVALID_REQUEST, param, "unsupported_parameter", message);
  }

  /** A client error other than 400 (401, 403, 404, 405, 413, 415, ...). */
  static ApiException client(int status, String code, String message) {
    return new ApiException(status, ErrorType.INVALID_REQUEST, null, code, message);
  }

  static ApiException server(int status, String code, String message) {
    return new ApiException(status, ErrorType.SERVER, null, code, message);
  }
}
