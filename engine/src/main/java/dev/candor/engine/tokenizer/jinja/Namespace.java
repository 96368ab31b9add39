package dev.candor.engine.tokenizer.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Jinja2's {@code namespace(...)}: the one mutable object a template can make, so that a value set inside a loop
 * survives it ({@code {% set ns.found = true %}}).
 */
final class Namespace {
  final Map<String, Object> attributes = new LinkedHashMap<>();
}
