-- hostile: grows a table without end
-- expect: eval rule error: {dir}/hostile.lua:7: memory limit of 64 MiB exceeded
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    local t = {}
    for i = 1, math.maxinteger do t[i] = i end
  end },
}
