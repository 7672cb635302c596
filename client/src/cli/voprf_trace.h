// `cairn token --scheme voprf-v1`: the voprf-v1 derivation step by step,
// for debugging (docs/token-scheme.md, "Scheme voprf-v1").
#ifndef CAIRN_CLIENT_SRC_CLI_VOPRF_TRACE_H_
#define CAIRN_CLIENT_SRC_CLI_VOPRF_TRACE_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cairn/connection.h"
#include "cairn/oprf.h"
#include "cairn/options.h"
#include "cairn/result.h"
#include "cairn/vocabulary.h"

namespace cairn::cli {

struct VoprfStep {
  Token x{};  // the hmac-v1 value, the OPRF input
  oprf::Element blinded_element{};
  oprf::Element evaluated_element{};
  Token token{};  // first 32 bytes of Finalize's output
};

struct VoprfTrace {
  std::uint32_t epoch = 0;
  oprf::Element public_key{};    // as announced in /v1/me
  bool proof_ok = false;         // tokens are set only when true
  std::string proof_error;       // why not, when !proof_ok
  std::vector<VoprfStep> steps;  // one per input
};

// Reads the hub's OPRF key from GET /v1/me, blinds every input, has them
// evaluated in one request, verifies the proof and finalises. Fails when
// the hub does not answer or does not offer voprf-v1; a hub's error reply
// is the error an SDK call gets for it (its code decides the exit code),
// worded with `options` (the connection's: its retry policy and client
// certificate). A proof that does not verify is reported in the trace
// (proof_ok = false).
// REQUIRES: 1 <= inputs.size() <= 10000.
Result<VoprfTrace> TraceVoprf(Connection& connection,
                              const ClientOptions& options,
                              std::span<const Token> inputs);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_VOPRF_TRACE_H_
