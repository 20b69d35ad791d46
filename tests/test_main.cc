// The main() of every GoogleTest binary here. It differs from gtest_main in
// one thing: a run in which every test skipped itself (GTEST_SKIP: no QEMU,
// say) exits 77, which ctest reads as "skipped" (SKIP_RETURN_CODE). ctest's
// usual way, matching "[  SKIPPED ]" in the output, would also call a run
// skipped whose SetUpTestSuite failed (GoogleTest then skips its tests and
// prints that), and so hide a failure.
#include "gmock/gmock.h"
#include "gtest/gtest.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const ::testing::UnitTest& run = *::testing::UnitTest::GetInstance();
  if (rc == 0 && run.skipped_test_count() > 0 && run.successful_test_count() == 0) return 77;
  return rc;
}
