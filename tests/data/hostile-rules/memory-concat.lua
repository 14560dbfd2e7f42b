-- hostile: doubles a string until memory runs out
-- expect: load {dir}/hostile.lua:4: error: memory limit of 64 MiB exceeded
local s = 'x'
while true do s = s .. s end
