#!/usr/bin/env python
import os
import sys


def main():
    # Production unless the development settings are asked for (bin/run asks for them).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
