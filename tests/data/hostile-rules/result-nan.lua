-- hostile: returns NaN as a result value
-- expect: eval invalid result at 'hostile.value': result contains a number that is not finite (NaN or infinity)
classification "hostile" {
  fr = "x", en = "x", source = "test", gives = "class",
  input = function(case)
    return 0 / 0
  end,
  row { function(v) return true end, class = "any", fr = "x", en = "x" },
}
