"""Reply templates, one module per language, so a translator sees one language whole.

Each module holds `TEMPLATES` (template name -> text with ``{placeholders}``) and `THOUSANDS`
(the digit-group separator its readers expect: "1,350", "1 350", "1.350"). Adding a language is
adding a module here and its entry in `LOCALES`; a unit test checks that it has every template of
English and that each, rendered with realistic values, fits one SMS. replies.py is the only reader.

Templates for languages written in Latin script keep to the GSM 7-bit alphabet: one character
outside it (á, ç, ê, an emoji) turns a 160-character SMS into a 70-character one. So French is
written without ç, ê, â, î, ô, û (é è à ù and capital Ç are in the alphabet), and Spanish without
á, í, ó, ú (é and ñ are in it), as SMS writers in those languages commonly do.
"""

from gateway.commands.locales import en, es, fr, sw, zh

LOCALES = {"en": en, "zh": zh, "sw": sw, "fr": fr, "es": es}
