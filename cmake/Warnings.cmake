# Warnings are errors everywhere: an ignored Status is a compile error, not a runtime surprise.
add_compile_options(-Wall -Wextra -Werror -Wno-missing-field-initializers)
