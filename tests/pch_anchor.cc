// Owner of the test suite's precompiled header (tests/CMakeLists.txt,
// cairn_test_pch): every test executable reuses the header built for this
// target, so it must compile with the tests' flags. It tests nothing.
int main() { return 0; }
