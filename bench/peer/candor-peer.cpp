// candor-peer: the peer side of Candor's end-to-end benchmark. Runs a GGUF model with llama.cpp's C API exactly as
// the benchmark runs Candor: a prompt given as token ids (so both engines see the same tokens, whatever their
// tokenizers do), one prefill, then greedy decoding one token per llama_decode call, argmax taken here (the first of
// equal maxima, as Candor's TokenDistribution does). Prints one JSON object on stdout: the generated ids and the
// wall-clock time of the prefill and of the decode steps (plus llama.cpp's own perf counters, to cross-check).
// With --logits FILE it instead runs the prompt teacher-forced, one llama_decode with logits at every position, and
// writes them to FILE as little-endian float32 [positions, n_vocab], for the benchmark to compare with Candor's (with
// a float32 KV cache, as Candor's, so what differs is the matrix products' arithmetic).
//
// Built against the llama.cpp source that fetch.sh takes from the pinned npm package; see README.md beside this file.
//
//   candor-peer -m MODEL.gguf (-p ID,ID,... | -P TEXT) [-n TOKENS] [-t THREADS] [--warmup N] [--logits FILE] [--no-mmap] [-v]

#include "ggml-backend.h"
#include "llama.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#ifndef PEER_VERSION
#define PEER_VERSION "unknown"
#endif

static bool verbose = false;

static void log_callback(ggml_log_level level, const char * text, void *) {
    if (verbose || level == GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

static double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// CPU time of the whole process (all its threads): with -t 1, the compute itself. On a machine shared with other
// jobs the wall clock measures the sharing; this measures the work.
static double cpu_ms() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int usage(const char * argv0) {
    fprintf(stderr, "usage: %s -m MODEL.gguf (-p ID,ID,... | -P TEXT) [-n TOKENS] [-t THREADS] [--warmup N] [--logits FILE] [--no-mmap] [-v]\n", argv0);
    return 2;
}

// The greedy choice: the first index of the largest logit.
static llama_token argmax(const float * logits, int n_vocab) {
    int best = 0;
    for (int i = 1; i < n_vocab; i++) {
        if (logits[i] > logits[best]) {
            best = i;
        }
    }
    return best;
}

struct run_result {
    std::vector<llama_token> tokens;
    double prompt_ms = 0;
    double decode_ms = 0;
    double prompt_cpu_ms = 0;
    double decode_cpu_ms = 0;
    int decode_steps = 0;
};

// One generation from an empty cache: prefill the prompt, then n_gen - 1 single-token decode steps.
static bool generate(llama_context * ctx, int n_vocab, std::vector<llama_token> prompt, int n_gen, run_result & out) {
    llama_memory_clear(llama_get_memory(ctx), true);
    out = run_result();

    // prefill: the whole prompt in one batch; the first generated token comes from its last position
    double t0 = now_ms();
    double c0 = cpu_ms();
    if (llama_decode(ctx, llama_batch_get_one(prompt.data(), (int32_t) prompt.size())) != 0) {
        fprintf(stderr, "candor-peer: llama_decode failed on the prompt\n");
        return false;
    }
    llama_token next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
    double t1 = now_ms();
    double c1 = cpu_ms();
    out.prompt_ms = t1 - t0;
    out.prompt_cpu_ms = c1 - c0;
    out.tokens.push_back(next);

    // decode: one token in, one token out
    for (int i = 1; i < n_gen; i++) {
        if (llama_decode(ctx, llama_batch_get_one(&next, 1)) != 0) {
            fprintf(stderr, "candor-peer: llama_decode failed at step %d\n", i);
            return false;
        }
        next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        out.tokens.push_back(next);
        out.decode_steps++;
    }
    out.decode_ms = now_ms() - t1;
    out.decode_cpu_ms = cpu_ms() - c1;
    return true;
}

// Teacher-forced: every token of the prompt in one batch, logits at every position, written to path.
static bool forced_logits(llama_context * ctx, int n_vocab, const std::vector<llama_token> & tokens, const char * path,
                          double & ms) {
    llama_memory_clear(llama_get_memory(ctx), true);
    llama_batch batch = llama_batch_init((int32_t) tokens.size(), 0, 1);
    for (size_t i = 0; i < tokens.size(); i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = (llama_pos) i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = (int32_t) tokens.size();
    double t0 = now_ms();
    int rc = llama_decode(ctx, batch);
    ms = now_ms() - t0;
    llama_batch_free(batch);
    if (rc != 0) {
        fprintf(stderr, "candor-peer: llama_decode failed on the teacher-forced batch\n");
        return false;
    }
    FILE * out = fopen(path, "wb");
    if (out == nullptr) {
        fprintf(stderr, "candor-peer: cannot write %s\n", path);
        return false;
    }
    for (size_t i = 0; i < tokens.size(); i++) {
        if (fwrite(llama_get_logits_ith(ctx, (int32_t) i), sizeof(float), n_vocab, out) != (size_t) n_vocab) {
            fprintf(stderr, "candor-peer: short write to %s\n", path);
            fclose(out);
            return false;
        }
    }
    return fclose(out) == 0;
}

static std::string json_escape(const std::string & s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if ((unsigned char) c < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

int main(int argc, char ** argv) {
    std::string model_path;
    std::string prompt_ids;
    std::string prompt_text;
    bool have_text = false;
    int n_gen = 16;
    int threads = 2;
    int warmup = 1;
    std::string logits_path;
    bool use_mmap = true;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&]() -> const char * {
            if (i + 1 >= argc) {
                fprintf(stderr, "candor-peer: %s needs a value\n", a.c_str());
                exit(2);
            }
            return argv[++i];
        };
        if (a == "-m") { model_path = value(); }
        else if (a == "-p") { prompt_ids = value(); }
        else if (a == "-P") { prompt_text = value(); have_text = true; }
        else if (a == "-n") { n_gen = atoi(value()); }
        else if (a == "-t") { threads = atoi(value()); }
        else if (a == "--warmup") { warmup = atoi(value()); }
        else if (a == "--logits") { logits_path = value(); }
        else if (a == "--no-mmap") { use_mmap = false; }
        else if (a == "-v") { verbose = true; }
        else { return usage(argv[0]); }
    }
    if (model_path.empty() || (prompt_ids.empty() == !have_text) || n_gen < 1 || threads < 1) {
        return usage(argv[0]);
    }

    llama_log_set(log_callback, nullptr);
    ggml_backend_load_all();
    llama_backend_init();

    double t_load = now_ms();
    llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    if (!use_mmap) {
        mparams.load_mode = LLAMA_LOAD_MODE_NONE; // --no-mmap: the weights read into the process's own memory
    }
    llama_model * model = llama_model_load_from_file(model_path.c_str(), mparams);
    if (model == nullptr) {
        fprintf(stderr, "candor-peer: cannot load %s\n", model_path.c_str());
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    std::vector<llama_token> prompt;
    if (have_text) {
        // llama.cpp's own tokenizer, special tokens parsed, nothing added (Qwen adds no BOS)
        int n = -llama_tokenize(vocab, prompt_text.c_str(), (int32_t) prompt_text.size(), nullptr, 0, false, true);
        prompt.resize(n);
        if (llama_tokenize(vocab, prompt_text.c_str(), (int32_t) prompt_text.size(), prompt.data(), n, false, true) < 0) {
            fprintf(stderr, "candor-peer: cannot tokenize the prompt\n");
            return 1;
        }
    } else {
        for (const char * s = prompt_ids.c_str(); *s;) {
            char * end;
            long id = strtol(s, &end, 10);
            if (end == s || id < 0 || id >= n_vocab) {
                fprintf(stderr, "candor-peer: bad token id in -p at '%s'\n", s);
                return 2;
            }
            prompt.push_back((llama_token) id);
            s = *end == ',' ? end + 1 : end;
        }
    }
    if (prompt.empty()) {
        fprintf(stderr, "candor-peer: empty prompt\n");
        return 2;
    }

    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t) (prompt.size() + n_gen + 16);
    cparams.n_batch = (uint32_t) std::max<size_t>(prompt.size(), 512);
    cparams.n_ubatch = cparams.n_batch;
    cparams.n_threads = threads;
    cparams.n_threads_batch = threads;
    cparams.no_perf = false;
    if (!logits_path.empty()) {
        // numerics, not speed: a float32 KV cache as Candor's (llama.cpp's default is float16)
        cparams.type_k = GGML_TYPE_F32;
        cparams.type_v = GGML_TYPE_F32;
    }
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (ctx == nullptr) {
        fprintf(stderr, "candor-peer: cannot create a context\n");
        return 1;
    }
    t_load = now_ms() - t_load;

    if (!logits_path.empty()) {
        double ms = 0;
        if (!forced_logits(ctx, n_vocab, prompt, logits_path.c_str(), ms)) {
            return 1;
        }
        printf("{\"engine\":\"llama.cpp\",\"version\":\"%s\",\"threads\":%d,\"positions\":%zu,\"n_vocab\":%d,"
            "\"forced_ms\":%.3f}\n", json_escape(PEER_VERSION).c_str(), threads, prompt.size(), n_vocab, ms);
        llama_free(ctx);
        llama_model_free(model);
        llama_backend_free();
        return 0;
    }

    run_result r;
    for (int w = 0; w < warmup; w++) {
        if (!generate(ctx, n_vocab, prompt, std::min(n_gen, 4), r)) {
            return 1;
        }
    }
    llama_perf_context_reset(ctx);
    if (!generate(ctx, n_vocab, prompt, n_gen, r)) {
        return 1;
    }
    llama_perf_context_data perf = llama_perf_context(ctx);

    printf("{\"engine\":\"llama.cpp\",\"version\":\"%s\",\"system_info\":\"%s\",\"threads\":%d,\"load_ms\":%.3f,",
        json_escape(PEER_VERSION).c_str(), json_escape(llama_print_system_info()).c_str(), threads, t_load);
    printf("\"prompt_tokens\":%zu,\"prompt_ms\":%.3f,\"decode_steps\":%d,\"decode_ms\":%.3f,",
        prompt.size(), r.prompt_ms, r.decode_steps, r.decode_ms);
    printf("\"prompt_cpu_ms\":%.3f,\"decode_cpu_ms\":%.3f,", r.prompt_cpu_ms, r.decode_cpu_ms);
    printf("\"perf\":{\"n_p_eval\":%d,\"t_p_eval_ms\":%.3f,\"n_eval\":%d,\"t_eval_ms\":%.3f},",
        perf.n_p_eval, perf.t_p_eval_ms, perf.n_eval, perf.t_eval_ms);
    printf("\"prompt\":[");
    for (size_t i = 0; i < prompt.size(); i++) {
        printf(i ? ",%d" : "%d", prompt[i]);
    }
    printf("],\"tokens\":[");
    for (size_t i = 0; i < r.tokens.size(); i++) {
        printf(i ? ",%d" : "%d", r.tokens[i]);
    }
    printf("]}\n");

    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
