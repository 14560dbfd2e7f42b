-- hostile: makes table.move loop over 2^62 slots in C
-- expect: load {dir}/hostile.lua:3: error: table.move: more than 1000000 elements in one call
table.move({}, 1, 2 ^ 62, 2)
