#include "server/src/store/token_index.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace cairn::server {
namespace {

constexpr std::int64_t kAll = std::numeric_limits<std::int64_t>::min();

IndexKey KeyOf(std::uint8_t seed, std::uint16_t kind = 1) {
  IndexKey k;
  k.kind = kind;
  for (std::size_t i = 0; i < k.token.size(); ++i) {
    k.token[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
  }
  return k;
}

IndexEntry EntryOf(std::int64_t rowid, std::uint32_t member,
                   std::int64_t expires_at = 1000) {
  IndexEntry e;
  e.rowid = rowid;
  e.member = member;
  e.banned_at = 10;
  e.expires_at = expires_at;
  e.category = Category::kGrooming;
  e.severity = Severity::kHigh;
  return e;
}

std::vector<std::int64_t> RowidsAt(const TokenIndex& index, const IndexKey& k,
                                   std::int64_t now = kAll) {
  std::vector<IndexEntry> out;
  index.Lookup(k, now, &out);
  std::vector<std::int64_t> rowids;
  for (const auto& e : out) rowids.push_back(e.rowid);
  std::sort(rowids.begin(), rowids.end());
  return rowids;
}

TEST_CASE("index keeps several signals per token and removes them one by one") {
  TokenIndex index;
  const IndexKey k = KeyOf(1);
  index.Apply({{IndexChange::Op::kInsert, k, EntryOf(1, 10)},
               {IndexChange::Op::kInsert, k, EntryOf(2, 11)},
               {IndexChange::Op::kInsert, k, EntryOf(3, 12)}});
  CHECK(index.Size() == 3);
  CHECK(index.KeyCount() == 1);
  CHECK(RowidsAt(index, k) == std::vector<std::int64_t>{1, 2, 3});

  IndexEntry removal;
  removal.rowid = 2;
  index.Apply({{IndexChange::Op::kRemove, k, removal}});
  CHECK(RowidsAt(index, k) == std::vector<std::int64_t>{1, 3});
  removal.rowid = 1;
  index.Apply({{IndexChange::Op::kRemove, k, removal}});
  removal.rowid = 3;
  index.Apply({{IndexChange::Op::kRemove, k, removal}});
  CHECK(RowidsAt(index, k).empty());
  CHECK(index.Size() == 0);
  CHECK(index.KeyCount() == 0);
}

TEST_CASE("index distinguishes kind, scheme and epoch of the same token") {
  TokenIndex index;
  IndexKey a = KeyOf(7, 1);
  IndexKey b = KeyOf(7, 2);
  IndexKey c = a;
  c.scheme = TokenScheme::kVoprfV1;
  IndexKey d = a;
  d.epoch = 3;
  index.Insert(a, EntryOf(1, 1));
  CHECK(RowidsAt(index, a).size() == 1);
  CHECK(RowidsAt(index, b).empty());
  CHECK(RowidsAt(index, c).empty());
  CHECK(RowidsAt(index, d).empty());
}

TEST_CASE("lookups hide entries whose expires_at has come") {
  TokenIndex index;
  const IndexKey k = KeyOf(3);
  index.Insert(k, EntryOf(1, 1, /*expires_at=*/100));
  index.Insert(k, EntryOf(2, 2, /*expires_at=*/200));
  CHECK(RowidsAt(index, k, 99) == std::vector<std::int64_t>{1, 2});
  CHECK(RowidsAt(index, k, 100) == std::vector<std::int64_t>{2});
  CHECK(RowidsAt(index, k, 200).empty());
  CHECK(RowidsAt(index, k, kAll).size() == 2);
}

TEST_CASE(
    "update replaces the entry with the same rowid, absent ones are "
    "ignored") {
  TokenIndex index;
  const IndexKey k = KeyOf(4);
  index.Insert(k, EntryOf(5, 1));
  IndexEntry changed = EntryOf(5, 1);
  changed.severity = Severity::kCritical;
  IndexEntry ghost = EntryOf(99, 1);
  index.Apply({{IndexChange::Op::kUpdate, k, changed},
               {IndexChange::Op::kUpdate, k, ghost},
               {IndexChange::Op::kRemove, KeyOf(5), ghost}});
  std::vector<IndexEntry> out;
  index.Lookup(k, kAll, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].severity == Severity::kCritical);
  CHECK(index.Size() == 1);
}

TEST_CASE("freed slots are reused and ForEach visits every entry") {
  TokenIndex index(1000);
  for (int round = 0; round < 3; ++round) {
    std::vector<IndexChange> changes;
    for (int i = 0; i < 200; ++i) {
      changes.push_back({IndexChange::Op::kInsert,
                         KeyOf(static_cast<std::uint8_t>(i), 1),
                         EntryOf(round * 1000 + i, 1)});
    }
    index.Apply(changes);
    CHECK(index.Size() == 200);
    std::size_t visited = 0;
    index.ForEach([&](const IndexKey&, const IndexEntry&) { ++visited; });
    CHECK(visited == 200);
    for (auto& c : changes) c.op = IndexChange::Op::kRemove;
    index.Apply(changes);
    CHECK(index.Size() == 0);
  }
}

TEST_CASE(
    "readers see either the old or the new state while a writer "
    "applies batches") {
  TokenIndex index;
  const IndexKey stable = KeyOf(200, 9);
  index.Insert(stable, EntryOf(1, 1));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      std::vector<IndexEntry> out;
      while (!stop.load()) {
        out.clear();
        index.Lookup(stable, kAll, &out);
        if (out.size() != 1) bad.fetch_add(1);
      }
    });
  }
  // A batched reader too: the stable key among keys the writer churns.
  readers.emplace_back([&] {
    std::vector<IndexKey> keys = {stable};
    for (int i = 0; i < 50; ++i) {
      keys.push_back(KeyOf(static_cast<std::uint8_t>(i), 2));
    }
    while (!stop.load()) {
      int found = 0;
      index.LookupMany(keys, kAll, [&](std::size_t k, const IndexEntry& e) {
        if (k == 0 && e.rowid == 1) ++found;
      });
      if (found != 1) bad.fetch_add(1);
    }
  });
  for (int round = 0; round < 200; ++round) {
    std::vector<IndexChange> changes;
    for (int i = 0; i < 50; ++i) {
      changes.push_back({IndexChange::Op::kInsert,
                         KeyOf(static_cast<std::uint8_t>(i), 2),
                         EntryOf(100 + i, 2)});
    }
    index.Apply(changes);
    for (auto& c : changes) c.op = IndexChange::Op::kRemove;
    index.Apply(changes);
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(bad.load() == 0);
  CHECK(index.Size() == 1);
}

// A model of the index: key -> (rowid -> entry).
using Model = std::map<std::pair<std::vector<std::uint8_t>, std::uint16_t>,
                       std::map<std::int64_t, IndexEntry>>;

std::pair<std::vector<std::uint8_t>, std::uint16_t> ModelKey(
    const IndexKey& k) {
  return {std::vector<std::uint8_t>(k.token.begin(), k.token.end()), k.kind};
}

// Every key of `keys`, through Lookup and through one LookupMany, gives
// exactly the model's entries that are live at `now`.
void CheckAgainstModel(const TokenIndex& index, const Model& model,
                       const std::vector<IndexKey>& keys, std::int64_t now) {
  std::vector<std::vector<std::int64_t>> many(keys.size());
  index.LookupMany(keys, now, [&](std::size_t i, const IndexEntry& e) {
    many[i].push_back(e.rowid);
  });
  std::size_t model_entries = 0;
  for (const auto& [key, entries] : model) model_entries += entries.size();
  CHECK(index.Size() == model_entries);
  CHECK(index.KeyCount() == model.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::vector<std::int64_t> expected;
    if (auto it = model.find(ModelKey(keys[i])); it != model.end()) {
      for (const auto& [rowid, e] : it->second) {
        if (now == kAll || e.expires_at > now) expected.push_back(rowid);
      }
    }
    std::sort(many[i].begin(), many[i].end());
    CHECK(RowidsAt(index, keys[i], now) == expected);
    CHECK(many[i] == expected);
  }
}

TEST_CASE(
    "random inserts, updates and removes agree with a model, through growth "
    "and deletions") {
  // Few distinct keys relative to the operations, so chains, removals of
  // the middle of a probe run (backward shift) and regrowth all happen.
  std::mt19937_64 rng(20261123);
  std::vector<IndexKey> keys;
  for (std::uint16_t i = 0; i < 3000; ++i) {
    IndexKey k;
    k.kind = static_cast<std::uint16_t>(1 + i % 3);
    for (auto& b : k.token) b = static_cast<std::uint8_t>(rng());
    keys.push_back(k);
  }
  TokenIndex index;  // no size hint: starts at the minimum and grows
  Model model;
  std::int64_t next_rowid = 1;
  for (int round = 0; round < 40; ++round) {
    std::vector<IndexChange> changes;
    for (int n = 0; n < 500; ++n) {
      const IndexKey& k = keys[rng() % keys.size()];
      auto& entries = model[ModelKey(k)];
      const int op = static_cast<int>(rng() % 3);
      if (op == 0 || entries.empty()) {
        IndexEntry e =
            EntryOf(next_rowid++, static_cast<std::uint32_t>(rng() % 5),
                    static_cast<std::int64_t>(rng() % 2000));
        entries[e.rowid] = e;
        changes.push_back({IndexChange::Op::kInsert, k, e});
      } else {
        auto it = std::next(entries.begin(),
                            static_cast<long>(rng() % entries.size()));
        IndexEntry e = it->second;
        if (op == 1) {
          e.expires_at = static_cast<std::int64_t>(rng() % 2000);
          it->second = e;
          changes.push_back({IndexChange::Op::kUpdate, k, e});
        } else {
          entries.erase(it);
          changes.push_back({IndexChange::Op::kRemove, k, e});
        }
      }
      if (entries.empty()) model.erase(ModelKey(k));
    }
    index.Apply(changes);
    if (round % 8 == 7) {
      CheckAgainstModel(index, model, keys, kAll);
      CheckAgainstModel(index, model, keys, 1000);
    }
  }
  // Drain everything: the table must end empty, with every key absent.
  std::vector<IndexChange> removals;
  for (const auto& [key, entries] : model) {
    IndexKey k;
    std::copy(key.first.begin(), key.first.end(), k.token.begin());
    k.kind = key.second;
    for (const auto& [rowid, e] : entries) {
      removals.push_back({IndexChange::Op::kRemove, k, e});
    }
  }
  index.Apply(removals);
  model.clear();
  CheckAgainstModel(index, model, keys, kAll);
}

TEST_CASE(
    "tokens that share all but their last byte, or all their bytes under "
    "other kinds, are kept apart") {
  // A member chooses the tokens it submits; the index hashes every byte,
  // keyed, so such sets neither collide into one key nor slow it down.
  TokenIndex index;
  std::vector<IndexKey> keys;
  for (int i = 0; i < 256; ++i) {
    IndexKey k;  // token all zero but the last byte
    k.token[31] = static_cast<std::uint8_t>(i);
    keys.push_back(k);
  }
  for (std::uint16_t kind = 2; kind < 10; ++kind) {
    IndexKey k;
    k.kind = kind;
    keys.push_back(k);
  }
  std::vector<IndexChange> changes;
  Model model;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const IndexEntry e = EntryOf(static_cast<std::int64_t>(i + 1), 1);
    changes.push_back({IndexChange::Op::kInsert, keys[i], e});
    model[ModelKey(keys[i])][e.rowid] = e;
  }
  index.Apply(changes);
  CheckAgainstModel(index, model, keys, kAll);
  std::set<std::size_t> hashes;
  for (const auto& k : keys) hashes.insert(IndexKeyHash{}(k));
  CHECK(hashes.size() == keys.size());
}

}  // namespace
}  // namespace cairn::server
