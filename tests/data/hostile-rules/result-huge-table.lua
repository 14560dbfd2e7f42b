-- hostile: returns a table of 200,000 values
-- expect: eval the result holds more than 100000 values
classification "hostile" {
  fr = "x", en = "x", source = "test", gives = "class",
  input = function(case)
    local t = {}
    for i = 1, 200000 do t[i] = i end
    return t
  end,
  row { function(v) return true end, class = "any", fr = "x", en = "x" },
}
