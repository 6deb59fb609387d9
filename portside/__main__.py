from portside.cli.main import main

raise SystemExit(main())
