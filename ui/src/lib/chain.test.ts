import { describe, expect, it } from "vitest";
import { f64 } from "./chain";

// The strings serde_json (ryu) writes for these f64 values.
describe("f64 as casa hashes it", () => {
  it.each([
    [0.5, "0.5"],
    [1, "1.0"],
    [0, "0.0"],
    [-0.25, "-0.25"],
    [0.00001, "0.00001"],
    [0.0000034, "3.4e-6"],
    [1e-7, "1e-7"],
    [1.5e-300, "1.5e-300"],
    [123456789012345, "123456789012345.0"],
    [1e17, "1e17"],
  ])("%s → %s", (x, s) => {
    expect(f64(x)).toBe(s);
  });
});
