package dev.candor.engine.cuda;

/** A CUDA call failed, or CUDA is not there: the message says which call and why, in CUDA's own words. */
public class CudaException extends RuntimeException {
  public CudaException(String message) {
    super(message);
  }

  public CudaException(String message, Throwable cause) {
    super(message, cause);
  }
}
