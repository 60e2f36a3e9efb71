// The exchange rules of DESIGN.md against hand-computed values.
#include <gtest/gtest.h>

#include <vector>

#include "deepspark/distributed/exchange_math.hpp"

namespace deepspark {
namespace distributed {
namespace {

TEST(DistRulesTest, ElasticWorkerStepEasgd) {
  // a = 0.5, f = 1: d = 0.5 (x - c).
  std::vector<float> x = {1.f, 2.f, -4.f};
  const std::vector<float> c = {3.f, 2.f, 0.f};
  std::vector<float> delta(3, 99.f);
  ElasticWorkerStep(x.data(), c.data(), 0.5f, 1.f, 3, delta.data());
  EXPECT_EQ(x, (std::vector<float>{2.f, 2.f, -2.f}));
  EXPECT_EQ(delta, (std::vector<float>{-1.f, 0.f, -2.f}));
  // The center moves by the delta: c + d == (1 - a) c + a x_old.
  std::vector<float> center = c;
  ApplyDelta(center.data(), delta.data(), 3);
  EXPECT_EQ(center, (std::vector<float>{2.f, 2.f, -2.f}));
}

TEST(DistRulesTest, ElasticWorkerStepServerFactor) {
  // The original DeepSpark mapping: x = (1-a) x + a c, c = (1-af) c + af x.
  const float a = 0.25f, f = 0.5f;
  std::vector<float> x = {8.f, -8.f};
  const std::vector<float> c = {0.f, 4.f};
  const std::vector<float> x0 = x;
  std::vector<float> delta(2);
  ElasticWorkerStep(x.data(), c.data(), a, f, 2, delta.data());
  // Hand computed: d = a (x - c) = {2, -3}; x = {6, -5}; delta = f d = {1,
  // -1.5}.
  EXPECT_EQ(x, (std::vector<float>{6.f, -5.f}));
  EXPECT_EQ(delta, (std::vector<float>{1.f, -1.5f}));
  std::vector<float> center = c;
  ApplyDelta(center.data(), delta.data(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FLOAT_EQ(x[i], (1 - a) * x0[i] + a * c[i]);
    EXPECT_FLOAT_EQ(center[i], (1 - a * f) * c[i] + a * f * x0[i]);
  }
  EXPECT_EQ(center, (std::vector<float>{1.f, 2.5f}));
}

TEST(DistRulesTest, FactorOneEqualsEasgd) {
  const std::vector<float> x0 = {0.3f, -1.7f, 2.9f, 0.f};
  const std::vector<float> c = {1.1f, 0.2f, -0.4f, 5.f};
  std::vector<float> xa = x0, xb = x0, da(4), db(4);
  ElasticWorkerStep(xa.data(), c.data(), 0.45f, 1.f, 4, da.data());
  for (int i = 0; i < 4; ++i) {
    const float d = 0.45f * (x0[i] - c[i]); // the EASGD elastic difference
    xb[i] = x0[i] - d;
    db[i] = d;
  }
  EXPECT_EQ(xa, xb);
  EXPECT_EQ(da, db);
}

TEST(DistRulesTest, ApplyDelta) {
  std::vector<float> c = {1.f, 2.f, 3.f};
  const std::vector<float> d = {0.5f, -2.f, 0.f};
  ApplyDelta(c.data(), d.data(), 3);
  EXPECT_EQ(c, (std::vector<float>{1.5f, 0.f, 3.f}));
  ApplyDelta(c.data(), d.data(), 0); // n = 0 touches nothing
  EXPECT_EQ(c, (std::vector<float>{1.5f, 0.f, 3.f}));
}

TEST(DistRulesTest, SyncElasticRound) {
  // Two workers x1 = {2, 0}, x2 = {4, -4}; center {1, 1}; a = 0.25.
  // c_new = c + a ((x1 - c) + (x2 - c)) = {1 + 0.25 * 4, 1 + 0.25 * (-6)} = {2,
  // -0.5}.
  std::vector<float> c = {1.f, 1.f};
  const std::vector<float> old_c = c;
  std::vector<float> x1 = {2.f, 0.f}, x2 = {4.f, -4.f};
  const std::vector<float> sum = {6.f, -4.f};
  SyncElasticCenterUpdate(c.data(), sum.data(), 2, 0.25f, 2);
  EXPECT_EQ(c, (std::vector<float>{2.f, -0.5f}));
  // Workers move towards the old center: x -= a (x - c_old).
  SyncElasticWorkerUpdate(x1.data(), old_c.data(), 0.25f, 2);
  SyncElasticWorkerUpdate(x2.data(), old_c.data(), 0.25f, 2);
  EXPECT_EQ(x1, (std::vector<float>{1.75f, 0.25f}));
  EXPECT_EQ(x2, (std::vector<float>{3.25f, -2.75f}));
}

TEST(DistRulesTest, Average) {
  const std::vector<float> sum = {3.f, -6.f, 1.5f};
  std::vector<float> out(3);
  Average(sum.data(), 3, out.data(), 3);
  EXPECT_EQ(out, (std::vector<float>{1.f, -2.f, 0.5f}));
  Average(sum.data(), 1, out.data(), 3);
  EXPECT_EQ(out, sum);
  // In place, as the server averages into its center.
  std::vector<float> inplace = {4.f, 8.f};
  Average(inplace.data(), 4, inplace.data(), 2);
  EXPECT_EQ(inplace, (std::vector<float>{1.f, 2.f}));
}

TEST(DistRulesTest, DecayedRate) {
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 0.5f, 100, 0, 0), 0.8f);
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 0.5f, 100, 0, 99), 0.8f);
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 0.5f, 100, 0, 100), 0.4f);
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 0.5f, 100, 0, 350), 0.1f);
  // The limit caps the number of decays.
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 0.5f, 100, 2, 1000), 0.2f);
  // No decay: step <= 0 or rate 1.
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 0.5f, 0, 0, 1000), 0.8f);
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 0.5f, -5, 0, 1000), 0.8f);
  EXPECT_FLOAT_EQ(DecayedRate(0.8f, 1.f, 10, 0, 1000), 0.8f);
}

} // namespace
} // namespace distributed
} // namespace deepspark
