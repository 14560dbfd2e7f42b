-- hostile: catches the memory error and keeps allocating
-- expect: eval rule error: {dir}/hostile.lua:8: memory limit of 64 MiB exceeded
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    local keep = {}
    for i = 1, 1000 do
      pcall(function() local t = {} for j = 1, math.maxinteger do t[j] = j end end)
    end
    return false
  end },
}
