-- hostile: asks string.format for a giant field width
-- expect: load {dir}/hostile.lua:3: error: invalid conversion specification: '%99999d'
local s = string.format('%99999d', 1)
