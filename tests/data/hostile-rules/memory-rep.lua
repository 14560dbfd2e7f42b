-- hostile: asks string.rep for a terabyte
-- expect: load {dir}/hostile.lua:3: error: string.rep: the result would exceed the limit of 1048576 bytes
local s = ('x'):rep(2 ^ 40)
