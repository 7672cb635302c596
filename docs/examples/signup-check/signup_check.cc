// A sign-up check and a ban submission against the SDK's fake hub.
#include <cstdio>

#include "cairn/client.h"
#ifndef CONSUMER_SHARED_ONLY
#include "cairn/testing/fake_hub.h"
#endif

#ifdef CONSUMER_SHARED_ONLY
// Only the shared library: a stub connection answering GET /v1/me.
class StubConnection final : public cairn::Connection {
 public:
  cairn::Result<cairn::HttpReply> Send(const cairn::HttpRequest&) override {
    return cairn::HttpReply{
        200,
        R"({"member_id":"alpha","name":"A","roles":["member"],"fingerprint":")" +
            std::string(64, 'a') +
            R"(","limits":{"max_batch":10000,"max_body_bytes":4194304,)"
            R"("requests_per_second":200,"items_per_second":200000},)"
            R"("token_schemes":["hmac-v1"],"hub_keys":[]})",
        {}};
  }
};

int main() {
  cairn::ClientOptions options;
  options.consortium_key = cairn::ConsortiumKey::Generate();
  auto client = cairn::MakeClient(options, std::make_shared<StubConnection>());
  if (!client) return 1;
  auto key = client->Tokenise(cairn::Identifier::Email("someone@example.com"));
  auto me = client->Me();
  if (!key || !me || me->member_id != "alpha") return 2;
  std::printf("shared library: ok\n");
  return 0;
}
#else
int main() {
  auto hub = std::make_shared<cairn::testing::FakeHub>();
  cairn::ClientOptions options;
  options.consortium_key = cairn::ConsortiumKey::Generate();
  auto alpha = cairn::MakeClient(options, hub->ConnectionFor("alpha"));
  auto beta = cairn::MakeClient(options, hub->ConnectionFor("beta"));
  if (!alpha || !beta) return 1;
  cairn::Ban ban{cairn::Identifier::Email("banned@example.com"),
                 cairn::Category::kGrooming,
                 cairn::Severity::kHigh,
                 std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
                 std::nullopt,
                 false,
                 std::nullopt};
  if (auto submitted = alpha->Submit({ban}); !submitted) return 2;
  auto found = beta->Query({cairn::Identifier::Email("Banned@Example.com")});
  if (!found || found->matches.size() != 1) return 3;
  std::printf("signup check: %zu match\n", found->matches.size());
  return 0;
}
#endif
