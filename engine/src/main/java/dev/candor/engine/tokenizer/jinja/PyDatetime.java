package dev.candor.engine.tokenizer.jinja;

import java.time.DayOfWeek;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.time.temporal.IsoFields;
import java.util.Locale;

/**
 * Python's {@code datetime.now().strftime(format)} on Linux (glibc, C locale), for Hugging Face's
 * {@code strftime_now} (Llama 3.x templates print "Today Date: 26 Jul 2024" with {@code "%d %b %Y"}): the C
 * directives, glibc's padding flags ({@code %-d}, {@code %_H}, {@code %^a}), Python's {@code %f}, and empty
 * {@code %z}/{@code %Z} for a naive time. An unknown directive is copied as written, as glibc does.
 */
public final class PyDatetime {
  private PyDatetime() {}

  public static String strftime(String format, LocalDateTime t) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 >= format.length()) {
        out.append(c);
        continue;
      }
      int start = i;
      char flag = 0;
      while (i + 1 < format.length() && "-_0^#".indexOf(format.charAt(i + 1)) >= 0) {
        flag = format.charAt(++i);
      }
      int width = -1;
      while (i + 1 < format.length() && Character.isDigit(format.charAt(i + 1)) && width < 1000) {
        width = Math.max(0, width) * 10 + (format.charAt(++i) - '0');
      }
      if (i + 1 >= format.length()) {
        out.append(format, start, format.length());
        break;
      }
      char directive = format.charAt(++i);
      String value = directive(directive, t);
      if (value == null) {
        out.append(format, start, i + 1);
        continue;
      }
      out.append(flagged(value, directive, flag, width));
      Py.checkLength(out.length());
    }
    return out.toString();
  }

  /** A directive's text with its natural padding, or null for an unknown directive. */
  private static String directive(char d, LocalDateTime t) {
    return switch (d) {
      case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
      case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
      case 'w' -> String.valueOf(t.getDayOfWeek().getValue() % 7);
      case 'u' -> String.valueOf(t.getDayOfWeek().getValue());
      case 'd' -> two(t.getDayOfMonth());
      case 'e' -> pad(t.getDayOfMonth(), 2, ' ');
      case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
      case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
      case 'm' -> two(t.getMonthValue());
      case 'y' -> two(t.getYear() % 100);
      case 'Y' -> String.valueOf(t.getYear());
      case 'C' -> two(t.getYear() / 100);
      case 'G' -> String.valueOf(t.get(IsoFields.WEEK_BASED_YEAR));
      case 'g' -> two(t.get(IsoFields.WEEK_BASED_YEAR) % 100);
      case 'V' -> two(t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
      case 'H' -> two(t.getHour());
      case 'k' -> pad(t.getHour(), 2, ' ');
      case 'I' -> two(hour12(t));
      case 'l' -> pad(hour12(t), 2, ' ');
      case 'p' -> t.getHour() < 12 ? "AM" : "PM";
      case 'P' -> t.getHour() < 12 ? "am" : "pm";
      case 'M' -> two(t.getMinute());
      case 'S' -> two(t.getSecond());
      case 'f' -> pad(t.getNano() / 1000, 6, '0');
      case 'j' -> pad(t.getDayOfYear(), 3, '0');
      case 'U' -> two(weekOfYear(t, DayOfWeek.SUNDAY));
      case 'W' -> two(weekOfYear(t, DayOfWeek.MONDAY));
      case 'z', 'Z' -> "";
      case 's' -> String.valueOf(t.atZone(java.time.ZoneId.systemDefault()).toEpochSecond());
      case 'c' -> directive('a', t) + " " + directive('b', t) + " " + directive('e', t) + " " + directive('T', t) + " "
          + directive('Y', t);
      case 'x', 'D' -> directive('m', t) + "/" + directive('d', t) + "/" + directive('y', t);
      case 'X', 'T' -> directive('H', t) + ":" + directive('M', t) + ":" + directive('S', t);
      case 'F' -> directive('Y', t) + "-" + directive('m', t) + "-" + directive('d', t);
      case 'R' -> directive('H', t) + ":" + directive('M', t);
      case 'r' -> directive('I', t) + ":" + directive('M', t) + ":" + directive('S', t) + " " + directive('p', t);
      case 'n' -> "\n";
      case 't' -> "\t";
      case '%' -> "%";
      default -> null;
    };
  }

  private static String flagged(String value, char directive, char flag, int width) {
    boolean numeric = !value.isEmpty() && (Character.isDigit(value.charAt(value.length() - 1)))
        && "aAbBhpPcxXDTFRrnt%".indexOf(directive) < 0;
    String v = value;
    if (numeric && (flag == '-' || flag == '_')) {
      v = v.stripLeading();
      while (v.length() > 1 && v.charAt(0) == '0') {
        v = v.substring(1);
      }
      if (flag == '_') {
        v = " ".repeat(Math.max(0, value.length() - v.length())) + v;
      }
    } else if (numeric && flag == '0') {
      v = v.replace(' ', '0');
    }
    if (flag == '^') {
      v = v.toUpperCase(Locale.ROOT);
    } else if (flag == '#') {
      v = v.chars().anyMatch(Character::isLowerCase) ? v.toUpperCase(Locale.ROOT) : v.toLowerCase(Locale.ROOT);
    }
    if (width > v.length()) {
      char fill = numeric && flag != '_' && flag != '-' ? '0' : ' ';
      v = String.valueOf(fill).repeat(width - v.length()) + v;
    }
    return v;
  }

  private static int hour12(LocalDateTime t) {
    int h = t.getHour() % 12;
    return h == 0 ? 12 : h;
  }

  /** C's %U / %W: weeks starting on {@code first}, days before the year's first such day in week 0. */
  private static int weekOfYear(LocalDateTime t, DayOfWeek first) {
    int yday = t.getDayOfYear() - 1;
    int wday = t.getDayOfWeek().getValue() % 7; // Sunday 0
    int offset = first == DayOfWeek.SUNDAY ? wday : (wday + 6) % 7;
    return (yday + 7 - offset) / 7;
  }

  private static String two(int v) {
    return pad(v, 2, '0');
  }

  private static String pad(long v, int width, char fill) {
    String s = String.valueOf(v);
    return s.length() >= width ? s : String.valueOf(fill).repeat(width - s.length()) + s;
  }
}
