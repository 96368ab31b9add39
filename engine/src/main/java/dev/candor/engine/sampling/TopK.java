package dev.candor.engine.sampling;

/**
 * Selects the indices of the n largest keys without sorting the whole array: one pass with a size-n min-heap,
 * O(V log n), which is what a per-token top-20 over a 151,936-token vocabulary needs.
 */
final class TopK {
  private TopK() {}

  /** Orders two indices: positive when a ranks above b. */
  interface Order {
    int compare(int a, int b);
  }

  /**
   * The n highest-ranked indices in [0, size), best first; equal ranks go to the lower index, so the first of a top
   * list is always the argmax (which takes the first of equal maxima), and the GPU's summary gives the same list.
   */
  static int[] select(int size, int n, Order ranking) {
    Order order = (a, b) -> {
      int c = ranking.compare(a, b);
      return c != 0 ? c : Integer.compare(b, a);
    };
    n = Math.min(n, size);
    if (n <= 0) {
      return new int[0];
    }
    int[] heap = new int[n]; // min-heap by order: heap[0] is the weakest of the best n seen so far
    int filled = 0;
    for (int i = 0; i < size; i++) {
      if (filled < n) {
        heap[filled] = i;
        siftUp(heap, filled++, order);
      } else if (order.compare(i, heap[0]) > 0) {
        heap[0] = i;
        siftDown(heap, n, order);
      }
    }
    // pop weakest-first into the tail: best ends up first
    int[] out = new int[n];
    for (int k = n - 1; k >= 0; k--) {
      out[k] = heap[0];
      heap[0] = heap[k];
      siftDown(heap, k, order);
    }
    return out;
  }

  private static void siftUp(int[] heap, int i, Order order) {
    while (i > 0) {
      int parent = (i - 1) / 2;
      if (order.compare(heap[i], heap[parent]) >= 0) {
        return;
      }
      int t = heap[i];
      heap[i] = heap[parent];
      heap[parent] = t;
      i = parent;
    }
  }

  private static void siftDown(int[] heap, int size, Order order) {
    int i = 0;
    while (true) {
      int left = 2 * i + 1;
      if (left >= size) {
        return;
      }
      int smallest = left;
      if (left + 1 < size && order.compare(heap[left + 1], heap[left]) < 0) {
        smallest = left + 1;
      }
      if (order.compare(heap[smallest], heap[i]) >= 0) {
        return;
      }
      int t = heap[i];
      heap[i] = heap[smallest];
      heap[smallest] = t;
      i = smallest;
    }
  }
}
